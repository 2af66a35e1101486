package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/webhook"
)

// BenchmarkCommitToApplied measures the time from a push, announced by a
// webhook, to the AppSource reporting the commit applied, for an app of 20
// objects (10 Deployments and 10 Services) whose every Deployment changes.
// It reports the median and the 99th percentile over b.N commits; the peer
// figure (Flux, same machine kind, webhook at push time) is 0.69 s.
func BenchmarkCommitToApplied(b *testing.B) {
	benchCommitToApplied(b, 10, 10, 3)
}

// BenchmarkCommitToApplied1000 is the same for a 1,000-object app: 100
// Deployments of one replica and 900 ConfigMaps, every Deployment changed
// by each commit. The peer figure (Flux) is 15.9 s.
func BenchmarkCommitToApplied1000(b *testing.B) {
	benchCommitToApplied(b, 100, 900, 1)
}

func benchCommitToApplied(b *testing.B, deployments, others int, replicas int) {
	reconciler := startManager(b)
	app := newGitApp(b)
	write := func(tag string) {
		var docs []string
		for i := range deployments {
			d := strings.ReplaceAll(deploymentYAML("example.com/web:"+tag), "name: web}", fmt.Sprintf("name: web-%d}", i))
			docs = append(docs, strings.Replace(d, "replicas: 3", fmt.Sprintf("replicas: %d", replicas), 1))
		}
		for i := range others {
			if deployments == others {
				docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: web-%d}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n", i))
			} else {
				docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config-%d}\ndata: {n: \"%d\"}\n", i, i))
			}
		}
		app.repo.WriteFile("deploy/deployment.yaml", strings.Join(docs, "---\n"))
	}
	write("0")
	app.repo.Commit(fmt.Sprintf("%d objects", deployments+others))
	obj := app.appSource(b, "web", withInterval(time.Hour))
	waitReady(b, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)

	var latencies []time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		write(fmt.Sprint(i + 1))
		commit := app.repo.Commit(fmt.Sprintf("commit %d", i+1))
		b.StartTimer()
		start := time.Now()
		reconciler.OnPush(webhook.Push{URLs: []string{app.server.RepoURL("app.git")}, Ref: "refs/heads/main"})
		err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			err := get(ctx, obj)
			return err == nil && obj.Status.LastAppliedRevision == "main@sha1:"+commit, err
		})
		if err != nil {
			b.Fatal(err)
		}
		latencies = append(latencies, time.Since(start))
	}
	slices.Sort(latencies)
	b.ReportMetric(latencies[len(latencies)/2].Seconds(), "p50-s")
	b.ReportMetric(latencies[len(latencies)*99/100].Seconds(), "p99-s")
}

// BenchmarkBlueGreenSwitch measures, for a 5-replica blue-green release, the
// time from the last new pod becoming Ready to every ready endpoint of the
// active Service being of the new colour, as an outside observer of the
// EndpointSlices sees it. It reports the median and the maximum over b.N
// releases and the mixed and empty samples seen; the peer figure (Argo
// Rollouts v1.10.2, same machine kind and control plane) is 36 ms.
func BenchmarkBlueGreenSwitch(b *testing.B) {
	reconciler := startManager(b)
	app := newGitApp(b)
	write := func(tag string) string {
		app.repo.WriteFile("deploy/deployment.yaml", strings.Replace(deploymentYAML("example.com/web:"+tag), "replicas: 3", "replicas: 5", 1)+
			"---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n")
		return app.repo.Commit("release " + tag)
	}
	write("0")
	obj := app.appSource(b, "web", withInterval(time.Hour), withStrategy(v1alpha1.Strategy{Type: v1alpha1.StrategyBlueGreen,
		BlueGreen: &v1alpha1.BlueGreenStrategy{ActiveServices: []string{"web"}, ScaleDownDelaySeconds: 1}}))
	waitReady(b, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	endpoints := sampleEndpoints(b, app.ns, "web")
	pods := samplePods(b, app.ns)

	var latencies []time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		color := "green"
		if obj.Status.Rollout.ActiveColor == "green" {
			color = "blue"
		}
		// As in the peer's measurement, the new colour starts from zero pods.
		eventually(b, time.Minute, "idle colour scaled down", func(context.Context) (bool, error) {
			return pods.count(color) == 0, nil
		})
		commit := write(fmt.Sprint(i + 1))
		b.StartTimer()
		reconciler.OnPush(webhook.Push{URLs: []string{app.server.RepoURL("app.git")}, Ref: "refs/heads/main"})
		err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			err := get(ctx, obj)
			return err == nil && obj.Status.LastGoodRevision == "main@sha1:"+commit && obj.Status.Rollout.ActiveColor == color &&
				endpoints.allColor(color).After(pods.readyAt(color, 5)), err
		})
		if err != nil {
			d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: app.ns, Name: "web-" + color}}
			_ = get(context.Background(), d)
			b.Logf("live: generation %d replicas %d status %+v", d.Generation, *d.Spec.Replicas, d.Status)
			for _, m := range d.ManagedFields {
				b.Logf("managed: %s %s %s", m.Manager, m.Operation, m.Time)
			}
			b.Fatalf("release %d to %s: %v; endpoints all %s at %s, 5 pods ready at %s; conditions %+v; rollout %+v", i+1, color, err,
				color, endpoints.allColor(color), pods.readyAt(color, 5), obj.Status.Conditions, *obj.Status.Rollout)
		}
		latencies = append(latencies, endpoints.allColor(color).Sub(pods.readyAt(color, 5)))
	}
	slices.Sort(latencies)
	mixed, empty, samples := endpoints.counts()
	b.ReportMetric(float64(latencies[len(latencies)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)-1].Milliseconds()), "max-ms")
	b.ReportMetric(float64(samples), "samples")
	b.ReportMetric(float64(mixed), "mixed")
	b.ReportMetric(float64(empty), "empty")
}

// BenchmarkNoopReconcile measures a reconcile of an AppSource whose revision
// and inputs are unchanged (20 objects): CPU of this process (controller and
// test together) and wall time per reconcile, beside a plain server-side
// apply of the same 20 objects, which is what a controller without the
// no-write check does at every interval. It also checks that the no-op
// reconcile writes nothing: the objects' and the AppSource's
// resourceVersions stay the same. The peer figure (Flux, same machine kind)
// is 0.39 s wall and 160 ms controller CPU.
func BenchmarkNoopReconcile(b *testing.B) {
	reconciler := startManager(b)
	app := newGitApp(b)
	var docs []string
	for i := range 10 {
		docs = append(docs, strings.ReplaceAll(deploymentYAML("example.com/web:1"), "name: web}", fmt.Sprintf("name: web-%d}", i)),
			fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: web-%d}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n", i))
	}
	app.repo.WriteFile("deploy/deployment.yaml", strings.Join(docs, "---\n"))
	app.repo.Commit("20 objects")
	obj := app.appSource(b, "web", withInterval(time.Hour))
	waitReady(b, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(obj)}
	before := resourceVersions(b, app.ns, obj)

	noop := measureCPU(b, func() {
		if _, err := reconciler.Reconcile(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	})
	if after := resourceVersions(b, app.ns, obj); !maps.Equal(before, after) {
		b.Errorf("a no-op reconcile wrote: resourceVersions %v, then %v", before, after)
	}
	objs := renderedObjects(b, app)
	plain := measureCPU(b, func() {
		for _, o := range objs {
			if err := k8s.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(o.DeepCopy()),
				client.FieldOwner("plain-apply"), client.ForceOwnership); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(noop.cpu.Seconds()*1000, "noop-cpu-ms")
	b.ReportMetric(noop.wall.Seconds()*1000, "noop-wall-ms")
	b.ReportMetric(plain.cpu.Seconds()*1000, "plain-apply-cpu-ms")
	b.ReportMetric(plain.wall.Seconds()*1000, "plain-apply-wall-ms")
	b.ReportMetric(noop.wall.Seconds()/plain.wall.Seconds(), "wall-ratio")
}

// cost is CPU and wall time per run.
type cost struct{ cpu, wall time.Duration }

// measureCPU runs fn b.N times and returns its cost per run; CPU is this
// process's user and system time, read with getrusage.
func measureCPU(b *testing.B, fn func()) cost {
	n := max(b.N, 1)
	cpu0, wall0 := processCPU(b), time.Now()
	for range n {
		fn()
	}
	return cost{cpu: (processCPU(b) - cpu0) / time.Duration(n), wall: time.Since(wall0) / time.Duration(n)}
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resourceVersions lists the resourceVersion of obj and of every Deployment
// and Service of ns.
func resourceVersions(b *testing.B, ns string, obj *v1alpha1.AppSource) map[string]string {
	out := map[string]string{}
	if err := get(context.Background(), obj); err != nil {
		b.Fatal(err)
	}
	out["AppSource"] = obj.ResourceVersion
	for _, list := range []client.ObjectList{&appsv1.DeploymentList{}, &corev1.ServiceList{}} {
		if err := k8s.List(context.Background(), list, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		items, _ := apimeta.ExtractList(list)
		for _, item := range items {
			o := item.(client.Object)
			out[fmt.Sprintf("%T/%s", o, o.GetName())] = o.GetResourceVersion()
		}
	}
	return out
}

// renderedObjects reads the app's objects as the cluster holds them, reduced
// to what a plain apply would send: apiVersion, kind, name, namespace, spec.
func renderedObjects(b *testing.B, app *gitApp) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, kind := range []string{"DeploymentList", "ServiceList"} {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion(map[string]string{"DeploymentList": "apps/v1", "ServiceList": "v1"}[kind])
		list.SetKind(kind)
		if err := k8s.List(context.Background(), list, client.InNamespace(app.ns)); err != nil {
			b.Fatal(err)
		}
		for _, item := range list.Items {
			o := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": item.GetAPIVersion(), "kind": item.GetKind(),
				"metadata": map[string]any{"name": item.GetName(), "namespace": item.GetNamespace()},
				"spec":     item.Object["spec"],
			}}
			unstructured.RemoveNestedField(o.Object, "spec", "clusterIP")
			unstructured.RemoveNestedField(o.Object, "spec", "clusterIPs")
			out = append(out, o)
		}
	}
	return out
}
