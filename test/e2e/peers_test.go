package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/source/gittest"
)

// The peer benchmarks run Driftless and a peer, one after the other, on the
// same local control plane and the same HTTPS Git server, with the same app,
// and report each figure of both from the same run with the ratio
// (Driftless over peer: below 1 is Driftless ahead). `make bench-peers`
// builds the peers from the Go module proxy (hack/build-peers.sh, versions
// pinned in hack/peers) and runs them; `make bench` leaves them out.

// BenchmarkPeersFlux compares Driftless with Flux (source-controller and
// kustomize-controller, at their default flags) on an app of 20 objects (10
// Deployments of 3 replicas, 10 Services) and of 1,000 objects (100
// Deployments of one replica, 900 ConfigMaps), plain YAML in one folder:
//   - first sync: from creating the AppSource (Flux: GitRepository and
//     Kustomization) to the commit applied, and to every Deployment rolled
//     out;
//   - commit → applied: each loop commits a new image for every Deployment
//     and announces the push, Driftless through the manager binary's HTTP
//     webhook, Flux as its Receiver does (the reconcile-request annotation on
//     the GitRepository), and times it to the commit applied (the AppSource's
//     or Kustomization's lastAppliedRevision) and to applied and healthy
//     (every Deployment rolled out, seen by the same watch for both);
//   - interval reconcile at an unchanged revision, every 10 s: the
//     controllers' CPU (Flux: both processes) less their idle CPU, per
//     reconcile; each such reconcile asks Git for the head and checks or
//     applies every object.
//
// Percentiles are over b.N samples: with fewer than 100 the top figure is
// reported as the maximum. Run with -benchtime=100x (20 objects) or 5x.
func BenchmarkPeersFlux(b *testing.B) {
	eachBenchApp(b, func(b *testing.B, server *gittest.HTTPSServer, app func(tag string) string, deployments int) {
		driftless := measureReleases(b, &driftlessRun{}, server, app, deployments, b.Loop)
		n := b.N // as many releases for the peer
		flux := measureReleases(b, &fluxRun{}, server, app, deployments, func() bool { n--; return n >= 0 })
		reportPeers(b, "flux", driftless, flux)
	})
}

// releaseFigures are one controller's figures of BenchmarkPeersFlux.
type releaseFigures struct {
	firstApplied, firstHealthy time.Duration
	applied, healthy           []time.Duration // one per release, sorted
	intervalCPU                time.Duration   // per interval reconcile
	// steps are the controller's own step seconds per release, where it
	// reports them (Driftless), and its reconciles per release.
	steps map[string]float64
}

// stepper is a releaseRun that reports the steps of its reconciles.
type stepper interface {
	steps(b *testing.B) map[string]float64
}

// figure is one figure of releaseFigures: its name, unit and value.
type figure struct {
	name, unit string
	value      func(releaseFigures) float64
}

// figures are the figures of releases releases, in the order they are
// reported. Percentiles index the sorted samples; with fewer than 100
// releases the top one is the maximum.
func figures(releases int) []figure {
	top, q := "max", 1.0
	if releases >= 100 {
		top, q = "p99", 0.99
	}
	return []figure{
		{"first-sync-applied", "s", func(f releaseFigures) float64 { return f.firstApplied.Seconds() }},
		{"first-sync-healthy", "s", func(f releaseFigures) float64 { return f.firstHealthy.Seconds() }},
		{"commit-applied-p50", "s", func(f releaseFigures) float64 { return at(f.applied, 0.5) }},
		{"commit-applied-" + top, "s", func(f releaseFigures) float64 { return at(f.applied, q) }},
		{"commit-healthy-p50", "s", func(f releaseFigures) float64 { return at(f.healthy, 0.5) }},
		{"commit-healthy-" + top, "s", func(f releaseFigures) float64 { return at(f.healthy, q) }},
		{"interval-reconcile-cpu", "ms", func(f releaseFigures) float64 { return f.intervalCPU.Seconds() * 1000 }},
	}
}

// timeUntil polls cond every 5ms until it is true and returns the time
// from start, failing the benchmark after timeout.
func timeUntil(b testing.TB, what string, start time.Time, timeout time.Duration, cond func(context.Context) (bool, error)) time.Duration {
	b.Helper()
	if err := wait.PollUntilContextTimeout(b.Context(), 5*time.Millisecond, timeout, true, cond); err != nil {
		b.Fatalf("%s: %v", what, err)
	}
	return time.Since(start)
}

// at is the q-quantile of the sorted samples s, in seconds.
func at(s []time.Duration, q float64) float64 {
	return s[min(int(float64(len(s))*q), len(s)-1)].Seconds()
}

// reportPeers reports each figure of d beside the peer's p, with the ratio,
// and logs them as a table.
func reportPeers(b *testing.B, peer string, d, p releaseFigures) {
	table := fmt.Sprintf("%-24s %12s %12s %7s  (%d releases each)\n", "figure", "driftless", peer, "ratio", len(d.applied))
	for _, fig := range figures(len(d.applied)) {
		dv, pv := fig.value(d), fig.value(p)
		b.ReportMetric(dv, "driftless-"+fig.name+"-"+fig.unit)
		b.ReportMetric(pv, peer+"-"+fig.name+"-"+fig.unit)
		b.ReportMetric(dv/pv, fig.name+"-ratio")
		table += fmt.Sprintf("%-24s %10.3f%-2s %10.3f%-2s %7.2f\n", fig.name, dv, fig.unit, pv, fig.unit, dv/pv)
	}
	b.Log("\n" + table)
}

// releaseRun is one controller under BenchmarkPeersFlux: started, given an
// app, told of pushes, and asked what it applied and what it costs.
type releaseRun interface {
	name() string
	start(b *testing.B, ns string)
	stop(b *testing.B)
	// create makes the app of repository url, synced every interval.
	create(b *testing.B, url string, interval time.Duration)
	setInterval(b *testing.B, interval time.Duration)
	push(b *testing.B, url string)
	applied(ctx context.Context, commit string) (bool, error)
	remove(b *testing.B)
	cpu(b *testing.B) time.Duration
	reconciles(b *testing.B) int
}

// measureReleases runs one controller through the scenarios of
// BenchmarkPeersFlux in a namespace of its own, taking a release sample
// while next says so; it deletes the app and waits for its pods to go.
func measureReleases(b *testing.B, run releaseRun, server *gittest.HTTPSServer, app func(tag string) string, deployments int, next func() bool) releaseFigures {
	var f releaseFigures
	ns := newNamespace(b)
	repo := server.NewRepo(b, run.name()+".git")
	url := server.RepoURL(repo.Name)
	auth := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git-auth", Namespace: ns}, Data: map[string][]byte{
		"username": []byte("u"), "password": []byte("pw"), "caFile": server.CAPEM, "ca.crt": server.CAPEM,
	}}
	if err := k8s.Create(b.Context(), auth); err != nil {
		b.Fatal(err)
	}
	repo.WriteFile("deploy/app.yaml", app("0"))
	commit := repo.Commit("release 0")
	deploys := watchDeployments(b, ns)

	run.start(b, ns)
	defer run.stop(b)
	idle := idleCPU(b, run)

	waitFor := func(what string, start time.Time, timeout time.Duration, cond func(context.Context) (bool, error)) time.Duration {
		return timeUntil(b, run.name()+": "+what, start, timeout, cond)
	}
	rolledOut := func(tag string) func(context.Context) (bool, error) { return deploys.released(deployments, tag) }
	start := time.Now()
	run.create(b, url, time.Hour)
	f.firstApplied = waitFor("first sync applied", start, 5*time.Minute, func(ctx context.Context) (bool, error) { return run.applied(ctx, commit) })
	f.firstHealthy = waitFor("first sync healthy", start, 5*time.Minute, rolledOut("0"))

	steps, reports := run.(stepper)
	var before map[string]float64
	if reports {
		before = steps.steps(b)
	}
	for i := 1; next(); i++ {
		tag := fmt.Sprint(i)
		repo.WriteFile("deploy/app.yaml", app(tag))
		commit := repo.Commit("release " + tag)
		start := time.Now()
		run.push(b, url)
		f.applied = append(f.applied, waitFor("release "+tag+" applied", start, 5*time.Minute, func(ctx context.Context) (bool, error) {
			return run.applied(ctx, commit)
		}))
		f.healthy = append(f.healthy, waitFor("release "+tag+" healthy", start, 5*time.Minute, rolledOut(tag)))
	}
	if reports {
		f.steps = perRelease(before, steps.steps(b), len(f.applied))
	}
	slices.Sort(f.applied)
	slices.Sort(f.healthy)

	const interval, window = 10 * time.Second, time.Minute
	run.setInterval(b, interval)
	time.Sleep(interval) // let the first interval reconcile start
	reconciles, cpu, start := run.reconciles(b), run.cpu(b), time.Now()
	time.Sleep(window)
	cpu = run.cpu(b) - cpu - time.Duration(float64(idle)*time.Since(start).Seconds())
	reconciles = run.reconciles(b) - reconciles
	if reconciles == 0 {
		b.Fatalf("%s: no interval reconcile in %s", run.name(), window)
	}
	f.intervalCPU = cpu / time.Duration(reconciles)

	run.remove(b)
	waitFor("the app's pods gone", time.Now(), 5*time.Minute, func(ctx context.Context) (bool, error) {
		var pods corev1.PodList
		err := k8s.List(ctx, &pods, client.InNamespace(ns))
		return err == nil && len(pods.Items) == 0, err
	})
	return f
}

// idleCPU is the controller's CPU per second of wall time with nothing to
// do, measured once its start has settled.
func idleCPU(b *testing.B, run releaseRun) time.Duration {
	const settle, window = 5 * time.Second, 10 * time.Second
	time.Sleep(settle)
	cpu := run.cpu(b)
	time.Sleep(window)
	return (run.cpu(b) - cpu) / time.Duration(window.Seconds())
}

// deploymentWatch holds a namespace's Deployments as a watch sees them.
type deploymentWatch struct {
	list func() []any
}

func watchDeployments(b testing.TB, ns string) *deploymentWatch {
	factory := informers.NewSharedInformerFactoryWithOptions(clientset, 0, informers.WithNamespace(ns))
	informer := factory.Apps().V1().Deployments().Informer()
	w := &deploymentWatch{list: informer.GetStore().List}
	runInformer(b, factory, informer, func() {})
	return w
}

// released is a condition: n Deployments rolled out at the bench apps'
// image tag.
func (w *deploymentWatch) released(n int, tag string) func(context.Context) (bool, error) {
	return func(context.Context) (bool, error) { return w.rolledOut(n, "example.com/web:"+tag), nil }
}

// rolledOut tells whether n Deployments run image, each with every replica
// updated and available at its latest generation.
func (w *deploymentWatch) rolledOut(n int, image string) bool {
	objs := w.list()
	if len(objs) != n {
		return false
	}
	for _, o := range objs {
		d := o.(*appsv1.Deployment)
		replicas := int32(1)
		if d.Spec.Replicas != nil {
			replicas = *d.Spec.Replicas
		}
		if d.Spec.Template.Spec.Containers[0].Image != image || d.Status.ObservedGeneration < d.Generation ||
			d.Status.UpdatedReplicas != replicas || d.Status.AvailableReplicas != replicas || d.Status.Replicas != replicas {
			return false
		}
	}
	return true
}

// driftlessRun is the manager binary with its HTTP webhook.
type driftlessRun struct {
	ns  string
	mgr *webhookManager
	obj *v1alpha1.AppSource
}

func (d *driftlessRun) name() string { return "driftless" }
func (d *driftlessRun) start(b *testing.B, ns string) {
	d.ns, d.mgr = ns, startWebhookManager(b, ns)
	eventually(b, time.Minute, "the manager serving metrics", func(context.Context) (bool, error) {
		return metricsUp(d.mgr.metricsURL), nil
	})
}
func (d *driftlessRun) stop(b *testing.B)             { d.mgr.proc.kill(b) }
func (d *driftlessRun) push(b *testing.B, url string) { d.mgr.push(b, url) }
func (d *driftlessRun) cpu(b *testing.B) time.Duration {
	return d.mgr.cpu(b)
}
func (d *driftlessRun) reconciles(b *testing.B) int           { return d.mgr.reconciles(b) }
func (d *driftlessRun) steps(b *testing.B) map[string]float64 { return d.mgr.steps(b) }

func (d *driftlessRun) create(b *testing.B, url string, interval time.Duration) {
	d.obj = appSource("web", d.ns, withURL(url), withPath("deploy"), withInterval(interval), func(s *v1alpha1.AppSource) {
		s.Spec.Source.Git.SecretRef = &v1alpha1.LocalObjectReference{Name: "git-auth"}
		s.Spec.TargetNamespace = d.ns
	})
	createAppSource(b, d.obj)
}

func (d *driftlessRun) setInterval(b *testing.B, interval time.Duration) {
	update(b, d.obj, func(s *v1alpha1.AppSource) { s.Spec.Interval = metav1.Duration{Duration: interval} })
}

func (d *driftlessRun) applied(ctx context.Context, commit string) (bool, error) {
	err := get(ctx, d.obj)
	return err == nil && d.obj.Status.LastAppliedRevision == "main@sha1:"+commit, err
}

func (d *driftlessRun) remove(b *testing.B) { deleteAppSource(b, d.obj) }

// fluxRun is Flux's source-controller and kustomize-controller, with a
// GitRepository and a Kustomization named app.
type fluxRun struct {
	ns                              string
	source, kustomize               *managerProcess
	sourceMetrics, kustomizeMetrics string
}

func (f *fluxRun) name() string { return "flux" }

func (f *fluxRun) start(b *testing.B, ns string) {
	f.ns = ns
	source := peerBinary(b, "flux-source", "github.com/fluxcd/source-controller", "source-controller")
	kustomize := peerBinary(b, "flux-kustomize", "github.com/fluxcd/kustomize-controller", "kustomize-controller")
	installPeerCRDs(b, source, kustomize)
	storage := freeAddr(b)
	f.sourceMetrics, f.kustomizeMetrics = freeAddr(b), freeAddr(b)
	env := append(os.Environ(), "KUBECONFIG="+cluster.Kubeconfig, "RUNTIME_NAMESPACE="+ns)
	cmd := exec.Command(source, "--storage-path="+b.TempDir(), "--storage-addr="+storage, "--storage-adv-addr="+storage,
		"--metrics-addr="+f.sourceMetrics, "--health-addr="+freeAddr(b), "--watch-all-namespaces=false")
	cmd.Env = env
	f.source = startProcess(b, "source-controller", cmd)
	cmd = exec.Command(kustomize, "--metrics-addr="+f.kustomizeMetrics, "--health-addr="+freeAddr(b), "--watch-all-namespaces=false")
	cmd.Env = env
	f.kustomize = startProcess(b, "kustomize-controller", cmd)
	f.sourceMetrics, f.kustomizeMetrics = "http://"+f.sourceMetrics+"/metrics", "http://"+f.kustomizeMetrics+"/metrics"
	eventually(b, time.Minute, "Flux serving metrics", func(context.Context) (bool, error) {
		return metricsUp(f.sourceMetrics) && metricsUp(f.kustomizeMetrics), nil
	})
}

func (f *fluxRun) stop(b *testing.B) {
	f.source.kill(b)
	f.kustomize.kill(b)
}

func (f *fluxRun) cpu(b *testing.B) time.Duration { return f.source.cpu(b) + f.kustomize.cpu(b) }

// reconciles counts the Kustomization's: each follows its GitRepository's.
func (f *fluxRun) reconciles(b *testing.B) int {
	return reconcileCount(b, f.kustomizeMetrics, "kustomization")
}

func (f *fluxRun) create(b *testing.B, url string, interval time.Duration) {
	for _, obj := range []*unstructured.Unstructured{
		{Object: map[string]any{
			"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
			"metadata": map[string]any{"name": "app", "namespace": f.ns},
			"spec": map[string]any{"interval": interval.String(), "url": url, "ref": map[string]any{"branch": "main"},
				"secretRef": map[string]any{"name": "git-auth"}},
		}},
		{Object: map[string]any{
			"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
			"metadata": map[string]any{"name": "app", "namespace": f.ns},
			"spec": map[string]any{"interval": interval.String(), "path": "./deploy", "prune": true, "targetNamespace": f.ns,
				"sourceRef": map[string]any{"kind": "GitRepository", "name": "app"}},
		}},
	} {
		if err := k8s.Create(b.Context(), obj); err != nil {
			b.Fatal(err)
		}
	}
}

func (f *fluxRun) object(kind string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion(map[string]string{"GitRepository": "source.toolkit.fluxcd.io/v1", "Kustomization": "kustomize.toolkit.fluxcd.io/v1"}[kind])
	obj.SetKind(kind)
	obj.SetNamespace(f.ns)
	obj.SetName("app")
	return obj
}

func (f *fluxRun) setInterval(b *testing.B, interval time.Duration) {
	for _, kind := range []string{"GitRepository", "Kustomization"} {
		patch := fmt.Appendf(nil, `{"spec":{"interval":%q}}`, interval.String())
		if err := k8s.Patch(b.Context(), f.object(kind), client.RawPatch(types.MergePatchType, patch)); err != nil {
			b.Fatal(err)
		}
	}
}

// push does what Flux's Receiver does on a webhook: it annotates the
// GitRepository with a reconcile request.
func (f *fluxRun) push(b *testing.B, _ string) {
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, time.Now().Format(time.RFC3339Nano))
	if err := k8s.Patch(b.Context(), f.object("GitRepository"), client.RawPatch(types.MergePatchType, patch)); err != nil {
		b.Fatal(err)
	}
}

func (f *fluxRun) applied(ctx context.Context, commit string) (bool, error) {
	obj := f.object("Kustomization")
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return false, err
	}
	revision, _, _ := unstructured.NestedString(obj.Object, "status", "lastAppliedRevision")
	return revision == "main@sha1:"+commit, nil
}

func (f *fluxRun) remove(b *testing.B) {
	obj := f.object("Kustomization")
	if err := k8s.Delete(b.Context(), obj); err != nil {
		b.Fatal(err)
	}
	eventually(b, 5*time.Minute, "Kustomization gone", func(ctx context.Context) (bool, error) {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		return err != nil, client.IgnoreNotFound(err)
	})
}

// metricsUp tells whether a metrics endpoint answers.
func metricsUp(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// peerBinary is the binary hack/build-peers.sh built of module at the
// version hack/peers/<dir>/go.mod requires; the benchmark fails without it.
func peerBinary(b *testing.B, dir, module, name string) string {
	gomod, err := os.ReadFile(filepath.Join("..", "..", "hack", "peers", dir, "go.mod"))
	if err != nil {
		b.Fatal(err)
	}
	version := ""
	for line := range strings.SplitSeq(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "require" && f[1] == module {
			version = f[2]
		}
	}
	bin, err := filepath.Abs(filepath.Join("..", "..", "bin", "peers", name+"-"+version, name))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		b.Fatalf("%s %s is not built: run make bench-peers, which builds it (hack/build-peers.sh): %v", name, version, err)
	}
	return bin
}

// installPeerCRDs installs the CRDs hack/build-peers.sh put beside each
// binary.
func installPeerCRDs(b *testing.B, bins ...string) {
	for _, bin := range bins {
		if err := cluster.InstallCRDs(b.Context(), filepath.Join(filepath.Dir(bin), "crds")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPeersArgoRollouts compares Driftless's blue-green switch with
// Argo Rollouts' (its controller at default flags, watching the one
// namespace): a Rollout of 5 replicas with an active Service, automatic
// promotion and a scale-down delay of 1 s, as BenchmarkBlueGreenSwitch runs
// the AppSource. Each release changes the image; the figure is the time from
// the last new pod becoming Ready to every ready endpoint of the Service
// being of the new pods, as the same EndpointSlice sampler sees it for both.
// Argo Rollouts reads no Git: its release is an edit of the Rollout, which
// does not enter the figure.
func BenchmarkPeersArgoRollouts(b *testing.B) {
	driftless := driftlessSwitches(b, b.Loop)
	n := b.N // as many releases for the peer
	argo := argoSwitches(b, func() bool { n--; return n >= 0 })
	driftless.report(b, "driftless-")
	argo.report(b, "argo-")
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.5}, {"p90", 0.9}, {"max", 1}} {
		b.ReportMetric(at(driftless.latencies, q.q)/at(argo.latencies, q.q), q.name+"-ratio")
	}
	b.ReportMetric(at(driftless.written, 0.5)/at(argo.written, 0.5), "written-p50-ratio")
	ms := func(d []time.Duration, q float64) string { return fmt.Sprintf("%.1f ms", at(d, q)*1000) }
	line := func(s switches) string {
		return fmt.Sprintf("p50 %s p90 %s max %s, of which the Service written p50 %s p90 %s (mixed %d, empty %d of %d samples)",
			ms(s.latencies, 0.5), ms(s.latencies, 0.9), ms(s.latencies, 1), ms(s.written, 0.5), ms(s.written, 0.9), s.mixed, s.empty, s.samples)
	}
	b.Logf("\nblue-green switch over %d releases each: driftless %s; argo rollouts %s", len(driftless.latencies), line(driftless), line(argo))
}

// argoSwitches runs Argo Rollouts' controller through blue-green releases
// while next says so. A pod's colour is its ReplicaSet's
// rollouts-pod-template-hash.
func argoSwitches(b *testing.B, next func() bool) switches {
	bin := peerBinary(b, "argo-rollouts", "github.com/argoproj/argo-rollouts", "rollouts-controller")
	installPeerCRDs(b, bin)
	ns := newNamespace(b)
	metrics := freeAddr(b)
	_, metricsPort, _ := strings.Cut(metrics, ":")
	_, healthPort, _ := strings.Cut(freeAddr(b), ":")
	proc := startProcess(b, "rollouts-controller", exec.Command(bin, "--kubeconfig="+cluster.Kubeconfig, "--namespaced", "--namespace="+ns,
		"--leader-elect=false", "--metricsPort="+metricsPort, "--healthzPort="+healthPort))
	defer proc.kill(b)

	service := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}}
	if err := k8s.Create(b.Context(), service); err != nil {
		b.Fatal(err)
	}
	rollout := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
		"metadata": map[string]any{"name": "web", "namespace": ns},
		"spec": map[string]any{
			"replicas": int64(5),
			"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "web", "image": "example.com/web:0"}}},
			},
			"strategy": map[string]any{"blueGreen": map[string]any{
				"activeService": "web", "autoPromotionEnabled": true, "scaleDownDelaySeconds": int64(1)}},
		},
	}}
	if err := k8s.Create(b.Context(), rollout); err != nil {
		b.Fatal(err)
	}
	const hashLabel = "rollouts-pod-template-hash"
	// hash is the Rollout's current pod hash once it is stable and healthy.
	hash := func(ctx context.Context) (string, error) {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(rollout), rollout); err != nil {
			return "", err
		}
		current, _, _ := unstructured.NestedString(rollout.Object, "status", "currentPodHash")
		stable, _, _ := unstructured.NestedString(rollout.Object, "status", "stableRS")
		phase, _, _ := unstructured.NestedString(rollout.Object, "status", "phase")
		if current == "" || current != stable || phase != "Healthy" {
			return "", nil
		}
		return current, nil
	}
	var color string // the current pods' hash
	eventually(b, 2*time.Minute, "the first Rollout healthy", func(ctx context.Context) (bool, error) {
		h, err := hash(ctx)
		color = h
		return h != "", err
	})
	// A pod of ReplicaSet web-<hash> is named web-<hash>-<suffix>.
	endpoints := sampleEndpointsBy(b, ns, "web", func(pod string) string {
		parts := strings.Split(pod, "-")
		return parts[len(parts)-2]
	})
	selector := sampleSelector(b, ns, "web", hashLabel)
	pods := samplePodsBy(b, ns, hashLabel)

	var s switches
	for i := 1; next(); i++ {
		// As for Driftless, the new pods start from zero and the old ones
		// are scaled down before the release.
		eventually(b, time.Minute, "the old pods scaled down", func(ctx context.Context) (bool, error) {
			var list corev1.PodList
			err := k8s.List(ctx, &list, client.InNamespace(ns))
			return err == nil && len(list.Items) == 5, err
		})
		patch := fmt.Appendf(nil, `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"example.com/web:%d"}]}}}}`, i)
		if err := k8s.Patch(b.Context(), rollout, client.RawPatch(types.MergePatchType, patch)); err != nil {
			b.Fatal(err)
		}
		old, released := color, time.Now()
		err := wait.PollUntilContextTimeout(b.Context(), 5*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			h, err := hash(ctx)
			if err != nil || h == "" || h == old {
				return false, err
			}
			color = h
			return endpoints.allColor(h).After(pods.readyAt(h, 5)) && selector.selects(h).After(released), nil
		})
		if err != nil {
			b.Fatalf("release %d: %v; rollout status %v", i, err, rollout.Object["status"])
		}
		s.add(pods.readyAt(color, 5), selector.selects(color), endpoints.allColor(color))
	}
	slices.Sort(s.latencies)
	slices.Sort(s.written)
	s.mixed, s.empty, s.samples = endpoints.counts()
	return s
}
