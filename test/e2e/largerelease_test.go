package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// largeDeployments is the size of the large release: as many Deployments
// (one replica each) as Services, 1,000 objects and a generated ConfigMap.
const largeDeployments = 500

// BenchmarkLargeRelease releases a new image to every Deployment of a
// 1,001-object app that a kustomize overlay renders (a base of 500
// Deployments and 500 Services; the overlay labels everything, patches
// every Deployment, sets the image and generates a ConfigMap) through the
// manager binary, the push announced by its HTTP webhook, on a cluster
// rolling the 500 pods of each release. The figure is commit → applied:
// lastAppliedRevision at the commit.
//
// Beside it, in the same run, the floor: the same rendered objects (kustomize
// in-process, timed apart) applied by a plain server-side apply with 8
// workers into a second namespace of the same cluster, whose pods roll too.
// The two alternate which goes first in each round, so that each meets the
// other's rollout as often. The manager's render and apply steps are
// reported per release, from its own metrics.
func BenchmarkLargeRelease(b *testing.B) {
	if err := cluster.AddNodes(b.Context(), 2*largeDeployments*2/110+1); err != nil {
		b.Fatal(err) // both namespaces' pods, with a surge of one each
	}
	app := newGitApp(b)
	local := b.TempDir() // the same overlay for the floor's render
	write := func(path, content string) {
		app.repo.WriteFile(path, content)
		full := filepath.Join(local, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	write("base/app.yaml", largeBase())
	write("base/kustomization.yaml", "resources: [app.yaml]\n")
	release := func(tag string) string {
		write("overlays/prod/kustomization.yaml", largeOverlay(tag))
		return app.repo.Commit("release " + tag)
	}
	commit := release("0")
	floorNS := newNamespace(b)
	floor := func(tag string) (rendered, applied time.Duration) {
		start := time.Now()
		objs := kustomizeBuild(b, filepath.Join(local, "overlays/prod"), floorNS)
		rendered = time.Since(start)
		start = time.Now()
		plainApply(b, objs, 8)
		return rendered, time.Since(start)
	}
	floor("0")

	mgr := startWebhookManager(b, app.ns)
	defer mgr.proc.kill(b)
	obj := app.appSource(b, "web", withPath("overlays/prod"), withInterval(time.Hour))
	defer deleteAppSource(b, obj)
	applied := func(commit string) func(context.Context) (bool, error) {
		return func(ctx context.Context) (bool, error) {
			err := get(ctx, obj)
			return err == nil && obj.Status.LastAppliedRevision == "main@sha1:"+commit, err
		}
	}
	timeUntil(b, "first sync applied", time.Now(), 10*time.Minute, applied(commit))
	deploys, floorDeploys := watchDeployments(b, app.ns), watchDeployments(b, floorNS)
	rolledOut := func(tag string) {
		timeUntil(b, "release "+tag+" rolled out", time.Now(), 10*time.Minute, func(context.Context) (bool, error) {
			return deploys.rolledOut(largeDeployments, "example.com/web:"+tag) && floorDeploys.rolledOut(largeDeployments, "example.com/web:"+tag), nil
		})
	}
	rolledOut("0")
	waitReady(b, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)

	before := mgr.steps(b)
	var driftless, floorApply, floorRender []time.Duration
	for i := 1; b.Loop(); i++ {
		tag := fmt.Sprint(i)
		commit := release(tag)
		runDriftless := func() {
			start := time.Now()
			mgr.push(b, app.server.RepoURL("app.git"))
			driftless = append(driftless, timeUntil(b, "release "+tag+" applied", start, 10*time.Minute, applied(commit)))
		}
		runFloor := func() {
			r, a := floor(tag)
			floorRender, floorApply = append(floorRender, r), append(floorApply, a)
		}
		if i%2 == 1 {
			runDriftless()
			runFloor()
		} else {
			runFloor()
			runDriftless()
		}
		rolledOut(tag)
	}
	reportSteps(b, perRelease(before, mgr.steps(b), len(driftless)), "s")
	if n := metricSum(b, mgr.metricsURL, "driftless_status_conflicts_total"); n != 0 {
		b.Errorf("%v status writes refused as conflicts", n)
	}
	for _, s := range [][]time.Duration{driftless, floorApply, floorRender} {
		slices.Sort(s)
	}
	b.ReportMetric(at(driftless, 0.5), "applied-p50-s")
	b.ReportMetric(at(driftless, 1), "applied-max-s")
	b.ReportMetric(at(floorApply, 0.5), "floor-apply-p50-s")
	b.ReportMetric(at(floorRender, 0.5), "floor-render-p50-s")
	b.ReportMetric(at(driftless, 0.5)/(at(floorApply, 0.5)+at(floorRender, 0.5)), "ratio")
}

// largeBase is the large release's base: Deployment web-i of one replica
// and Service web-i selecting its pods, for each i.
func largeBase() string {
	var docs []string
	for i := range largeDeployments {
		docs = append(docs, fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web-%[1]d}
spec:
  replicas: 1
  selector: {matchLabels: {app: web-%[1]d}}
  template:
    metadata: {labels: {app: web-%[1]d}}
    spec: {containers: [{name: web, image: example.com/web:0}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-%[1]d}
spec: {selector: {app: web-%[1]d}, ports: [{port: 80}]}
`, i))
	}
	return strings.Join(docs, "---\n")
}

// largeOverlay is the kustomization of the large release's overlay at an
// image tag.
func largeOverlay(tag string) string {
	return `resources: [../../base]
labels:
- pairs: {env: prod}
patches:
- target: {kind: Deployment}
  patch: |-
    - op: add
      path: /spec/template/spec/containers/0/env
      value: [{name: ENV, value: prod}]
    - op: add
      path: /spec/template/spec/containers/0/resources
      value: {requests: {cpu: 10m, memory: 16Mi}}
images:
- name: example.com/web
  newTag: "` + tag + `"
configMapGenerator:
- name: web-config
  literals: [env=prod]
`
}

// kustomizeBuild renders the kustomization at dir in-process, each object
// put in namespace ns.
func kustomizeBuild(b *testing.B, dir, ns string) []*unstructured.Unstructured {
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		b.Fatal(err)
	}
	out, err := resources.AsYaml()
	if err != nil {
		b.Fatal(err)
	}
	return decodeObjects(b, string(out), ns)
}

// decodeObjects decodes the YAML documents of docs, each object put in
// namespace ns.
func decodeObjects(b *testing.B, docs, ns string) []*unstructured.Unstructured {
	var objs []*unstructured.Unstructured
	decoder := yaml.NewYAMLOrJSONDecoder(strings.NewReader(docs), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := decoder.Decode(&u.Object); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			b.Fatal(err)
		}
		if u.Object != nil {
			u.SetNamespace(ns)
			objs = append(objs, u)
		}
	}
	return objs
}

// plainApply server-side applies objs with workers in parallel, as a plain
// client would: no cache, no diff, every object sent.
func plainApply(b *testing.B, objs []*unstructured.Unstructured, workers int) {
	next := make(chan *unstructured.Unstructured)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failure error
	for range workers {
		wg.Go(func() {
			for o := range next {
				if err := k8s.Apply(b.Context(), client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("plain-apply"), client.ForceOwnership); err != nil {
					mu.Lock()
					failure = err
					mu.Unlock()
				}
			}
		})
	}
	for _, o := range objs {
		next <- o
	}
	close(next)
	wg.Wait()
	if failure != nil {
		b.Fatal(failure)
	}
}
