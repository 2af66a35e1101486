package e2e

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/source/gittest"
)

// BenchmarkCommitToApplied runs the manager binary through the release
// scenarios of BenchmarkPeersFlux alone: first sync, commit → applied and
// → healthy (pushes announced by its HTTP webhook), and the interval
// reconcile's CPU. Percentiles are over b.N releases; with fewer than 100
// the top figure is the maximum. The manager's own step times per release
// (fetch, render, plan, apply, health, summed over the reconciles of a
// release: the one the push wakes, then those that follow the rollout) say
// where commit → applied goes.
//
// Beside commit → healthy, in the same run, its floor: the same releases
// applied by a plain server-side apply to another namespace, each just
// before ours, timed until rolled out. The cluster's rolling pace is most
// of the figure; the difference is ours.
func BenchmarkCommitToApplied(b *testing.B) {
	eachBenchApp(b, func(b *testing.B, server *gittest.HTTPSServer, app func(tag string) string, deployments int) {
		floor := newRolloutFloor(b, app, deployments)
		f := measureReleases(b, &driftlessRun{}, server, app, deployments, func() bool {
			if !b.Loop() {
				return false
			}
			floor.release(b) // before each of ours, so that both meet the cluster alike
			return true
		})
		for _, fig := range figures(len(f.applied)) {
			b.ReportMetric(fig.value(f), fig.name+"-"+fig.unit)
		}
		reportSteps(b, f.steps, "ms")
		slices.Sort(floor.healthy)
		b.ReportMetric(at(floor.healthy, 0.5), "floor-healthy-p50-s")
		b.ReportMetric(at(f.healthy, 0.5)/at(floor.healthy, 0.5), "healthy-p50-ratio")
		b.ReportMetric((at(f.healthy, 0.5)-at(floor.healthy, 0.5))*1000, "healthy-over-floor-p50-ms")
	})
}

// rolloutFloor releases the bench app by a plain server-side apply into a
// namespace of its own and times each release until every Deployment has
// rolled out.
type rolloutFloor struct {
	ns          string
	deploys     *deploymentWatch
	app         func(tag string) string
	deployments int
	healthy     []time.Duration
}

// newRolloutFloor applies the app's first release and waits for it.
func newRolloutFloor(b *testing.B, app func(tag string) string, deployments int) *rolloutFloor {
	ns := newNamespace(b)
	f := &rolloutFloor{ns: ns, deploys: watchDeployments(b, ns), app: app, deployments: deployments}
	plainApply(b, decodeObjects(b, app("0"), ns), 8)
	timeUntil(b, "floor: first apply rolled out", time.Now(), 5*time.Minute, f.deploys.released(deployments, "0"))
	return f
}

// release applies the next release and records the time until it rolled out.
func (f *rolloutFloor) release(b *testing.B) {
	tag := fmt.Sprint(len(f.healthy) + 1)
	objs, start := decodeObjects(b, f.app(tag), f.ns), time.Now()
	plainApply(b, objs, 8)
	f.healthy = append(f.healthy, timeUntil(b, "floor: release "+tag+" rolled out", start, 5*time.Minute, f.deploys.released(f.deployments, tag)))
}

// eachBenchApp runs release as a sub-benchmark for each app of the release
// benchmarks, with an HTTPS Git server of its own and app giving the app's
// YAML at an image tag: 20 objects (10 Deployments of 3 replicas, 10
// Services) and 1,000 (100 Deployments of one replica, 900 ConfigMaps).
func eachBenchApp(b *testing.B, release func(b *testing.B, server *gittest.HTTPSServer, app func(tag string) string, deployments int)) {
	for _, size := range []struct{ deployments, others, replicas int }{{10, 10, 3}, {100, 900, 1}} {
		b.Run(fmt.Sprintf("objects=%d", size.deployments+size.others), func(b *testing.B) {
			server := gittest.NewHTTPS(b, gittest.HTTPSOptions{Username: "u", Password: "pw"})
			release(b, server, func(tag string) string { return benchApp(size.deployments, size.others, size.replicas, tag) }, size.deployments)
		})
	}
}

// benchApp is the YAML of an app of deployments Deployments running image
// tag, and others Services (as many as Deployments) or else ConfigMaps.
func benchApp(deployments, others, replicas int, tag string) string {
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
	return strings.Join(docs, "---\n")
}

// BenchmarkBlueGreenSwitch measures, for a 5-replica blue-green release, the
// time from the last new pod becoming Ready to every ready endpoint of the
// active Service being of the new colour, as an outside observer of the
// EndpointSlices sees it. It reports the median and the maximum over b.N
// releases and the mixed and empty samples seen. BenchmarkPeersArgoRollouts
// measures Argo Rollouts the same way.
func BenchmarkBlueGreenSwitch(b *testing.B) {
	s := driftlessSwitches(b, b.Loop)
	s.report(b, "")
}

// switches are the blue-green switch latencies of one controller and what
// its endpoint sampler saw. Of each latency, written is the controller's
// part: until a watch sees the active Service select the new pods; the
// rest is the cluster's EndpointSlice controller.
type switches struct {
	latencies, written    []time.Duration // sorted
	mixed, empty, samples int
}

// add records a switch: the last new pod Ready, the Service's selector
// written, every ready endpoint of the new colour.
func (s *switches) add(ready, written, endpoints time.Time) {
	s.latencies = append(s.latencies, endpoints.Sub(ready))
	s.written = append(s.written, written.Sub(ready))
}

// report reports the median, the 90th and 99th percentiles (from 100
// switches; the maximum below), the median and 90th percentile of the
// controller's part, and the samples.
func (s switches) report(b *testing.B, prefix string) {
	ms := func(q float64) float64 { return at(s.latencies, q) * 1000 }
	b.ReportMetric(ms(0.5), prefix+"p50-ms")
	b.ReportMetric(ms(0.9), prefix+"p90-ms")
	if len(s.latencies) >= 100 {
		b.ReportMetric(ms(0.99), prefix+"p99-ms")
	}
	b.ReportMetric(ms(1), prefix+"max-ms")
	b.ReportMetric(at(s.written, 0.5)*1000, prefix+"written-p50-ms")
	b.ReportMetric(at(s.written, 0.9)*1000, prefix+"written-p90-ms")
	b.ReportMetric(float64(s.samples), prefix+"samples")
	b.ReportMetric(float64(s.mixed), prefix+"mixed")
	b.ReportMetric(float64(s.empty), prefix+"empty")
}

// driftlessSwitches runs the manager binary through blue-green releases,
// announced by its HTTP webhook, while next says so.
func driftlessSwitches(b *testing.B, next func() bool) switches {
	app := newGitApp(b)
	write := func(tag string) string {
		app.repo.WriteFile("deploy/deployment.yaml", strings.Replace(deploymentYAML("example.com/web:"+tag), "replicas: 3", "replicas: 5", 1)+
			"---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n")
		return app.repo.Commit("release " + tag)
	}
	write("0")
	mgr := startWebhookManager(b, app.ns)
	defer mgr.proc.kill(b)
	obj := app.appSource(b, "web", withInterval(time.Hour), withStrategy(v1alpha1.Strategy{Type: v1alpha1.StrategyBlueGreen,
		BlueGreen: &v1alpha1.BlueGreenStrategy{ActiveServices: []string{"web"}, ScaleDownDelaySeconds: 1}}))
	defer deleteAppSource(b, obj)
	waitReady(b, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	endpoints := sampleEndpoints(b, app.ns, "web")
	selector := sampleSelector(b, app.ns, "web", v1alpha1.ColorLabel)
	pods := samplePods(b, app.ns)

	var s switches
	for i := 0; next(); i++ {
		color := "green"
		if obj.Status.Rollout.ActiveColor == "green" {
			color = "blue"
		}
		// As in the peer's measurement, the new colour starts from zero pods.
		eventually(b, time.Minute, "idle colour scaled down", func(context.Context) (bool, error) {
			return pods.count(color) == 0, nil
		})
		commit, released := write(fmt.Sprint(i+1)), time.Now()
		mgr.push(b, app.server.RepoURL("app.git"))
		err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			err := get(ctx, obj)
			return err == nil && obj.Status.LastGoodRevision == "main@sha1:"+commit && obj.Status.Rollout.ActiveColor == color &&
				endpoints.allColor(color).After(pods.readyAt(color, 5)) && selector.selects(color).After(released), err
		})
		if err != nil {
			b.Fatalf("release %d to %s: %v; endpoints all %s at %s, 5 pods ready at %s; conditions %+v; rollout %+v", i+1, color, err,
				color, endpoints.allColor(color), pods.readyAt(color, 5), obj.Status.Conditions, *obj.Status.Rollout)
		}
		s.add(pods.readyAt(color, 5), selector.selects(color), endpoints.allColor(color))
	}
	slices.Sort(s.latencies)
	slices.Sort(s.written)
	s.mixed, s.empty, s.samples = endpoints.counts()
	return s
}

// BenchmarkDriftCheck measures what a reconcile costs the controller when
// the revision and inputs are unchanged: the manager binary runs the
// AppSource alone, each loop touches an annotation of the Git credentials
// Secret it reads (an event, but no change of input), and the manager
// process's CPU, less its idle CPU over the same time, is divided by the
// reconciles it ran. Such a reconcile renders nothing and checks every
// object for drift; it does not ask Git, which it did less than half an
// interval ago. Beside it, in the same run:
//   - the CPU of the same events on a watched Secret nothing reads: what
//     the watch costs without a reconcile, subtracted for reconcile-cpu-ms;
//   - the CPU this process spends on a plain server-side apply of the same
//     objects: what a controller that re-applies to correct drift spends
//     client-side.
//
// It also checks that nothing was written: the objects' and the
// AppSource's resourceVersions stay the same. This event-woken reconcile has
// no like in the peers; BenchmarkPeersFlux compares the interval reconcile.
func BenchmarkDriftCheck(b *testing.B) {
	for _, size := range []struct{ deployments, others, replicas int }{{10, 10, 3}, {100, 900, 1}} {
		b.Run(fmt.Sprintf("objects=%d", size.deployments+size.others), func(b *testing.B) {
			app := newGitApp(b)
			app.repo.WriteFile("deploy/deployment.yaml", benchApp(size.deployments, size.others, size.replicas, "1"))
			app.repo.Commit("the app")
			mgr := startWebhookManager(b, app.ns)
			obj := app.appSource(b, "web", withInterval(time.Hour))
			unread := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "unread", Namespace: app.ns, Labels: watched}}
			if err := k8s.Create(context.Background(), unread); err != nil {
				b.Fatal(err)
			}
			waitReady(b, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
			time.Sleep(2 * time.Second) // let the rollout's last wakes settle
			before := resourceVersions(b, app.ns, obj)

			// Paced so that each reconcile ends before the next event.
			pace := 50*time.Millisecond + 100*time.Millisecond*time.Duration((size.deployments+size.others)/100)
			touch := func(name string, i int) {
				secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: app.ns}}
				patch := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"metadata":{"annotations":{"touched":"%d"}}}`, i))
				if err := k8s.Patch(context.Background(), secret, patch); err != nil {
					b.Fatal(err)
				}
				time.Sleep(pace)
			}
			const idleWindow = 10 * time.Second
			idle := mgr.cpu(b)
			time.Sleep(idleWindow)
			idle = mgr.cpu(b) - idle
			// busy is the manager's CPU since (cpu, start), less its idle CPU.
			busy := func(cpu time.Duration, start time.Time) time.Duration {
				return mgr.cpu(b) - cpu - time.Duration(float64(idle)*time.Since(start).Seconds()/idleWindow.Seconds())
			}

			reconciles, cpu, start := mgr.reconciles(b), mgr.cpu(b), time.Now()
			for i := 0; b.Loop(); i++ {
				touch("git-auth", i)
			}
			cpu = busy(cpu, start)
			reconciles = mgr.reconciles(b) - reconciles
			if reconciles < b.N {
				b.Logf("%d events ran %d reconciles", b.N, reconciles)
			}
			events, start := mgr.cpu(b), time.Now()
			for i := range b.N {
				touch("unread", i)
			}
			perEvent := busy(events, start) / time.Duration(b.N)
			if after := resourceVersions(b, app.ns, obj); !maps.Equal(before, after) {
				b.Errorf("a drift check wrote: resourceVersions %v, then %v", before, after)
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
			perReconcile := cpu / time.Duration(max(reconciles, 1))
			b.ReportMetric(float64(perReconcile.Microseconds())/1000, "controller-cpu-ms")
			b.ReportMetric(float64(perEvent.Microseconds())/1000, "event-cpu-ms")
			b.ReportMetric(float64((perReconcile-perEvent).Microseconds())/1000, "reconcile-cpu-ms")
			b.ReportMetric(float64(idle.Microseconds())/1000/idleWindow.Seconds(), "idle-cpu-ms/s")
			b.ReportMetric(plain.cpu.Seconds()*1000, "plain-apply-cpu-ms")
			b.ReportMetric(perReconcile.Seconds()/plain.cpu.Seconds(), "cpu-ratio")
		})
	}
}

// BenchmarkDriftCheckAtInterval measures the periodic reconcile at an
// unchanged revision: 20 AppSources of 20 objects each (10 Deployments of
// no replicas, the fake node's 110 pods being too few, and 10 Services),
// every 10 s (the shortest interval), each reconcile asking Git for the
// head (ls-remote over HTTPS) and checking its objects for drift. The manager's CPU, less
// its idle CPU measured before the AppSources existed, is divided by the
// reconciles it ran. Each loop waits for one reconcile's share of the
// interval.
func BenchmarkDriftCheckAtInterval(b *testing.B) {
	const apps, interval = 20, 10 * time.Second
	app := newGitApp(b)
	app.repo.WriteFile("deploy/deployment.yaml", benchApp(10, 10, 0, "1"))
	app.repo.Commit("the app")
	mgr := startWebhookManager(b, app.ns)
	eventually(b, time.Minute, "the manager serving metrics", func(context.Context) (bool, error) {
		return metricsUp(mgr.metricsURL), nil
	})
	time.Sleep(5 * time.Second) // let its start settle
	const idleWindow = 10 * time.Second
	idle := mgr.cpu(b)
	time.Sleep(idleWindow)
	idle = mgr.cpu(b) - idle

	objs := make([]*v1alpha1.AppSource, apps)
	for i := range objs {
		target := newNamespace(b)
		objs[i] = app.appSource(b, fmt.Sprintf("web-%d", i), withInterval(interval), func(s *v1alpha1.AppSource) {
			s.Spec.TargetNamespace = target
		})
	}
	for _, obj := range objs {
		waitReady(b, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	}
	time.Sleep(2 * time.Second) // let the rollouts' last wakes settle
	requests := app.server.Requests()
	reconciles, cpu, start := mgr.reconciles(b), mgr.cpu(b), time.Now()
	for b.Loop() {
		time.Sleep(interval / apps)
	}
	cpu = mgr.cpu(b) - cpu - time.Duration(float64(idle)*time.Since(start).Seconds()/idleWindow.Seconds())
	reconciles = mgr.reconciles(b) - reconciles
	b.ReportMetric(float64((cpu/time.Duration(max(reconciles, 1))).Microseconds())/1000, "controller-cpu-ms")
	b.ReportMetric(float64(app.server.Requests()-requests)/float64(max(reconciles, 1)), "git-requests/reconcile")
	b.ReportMetric(float64(reconciles), "reconciles")
	b.ReportMetric(float64(idle.Microseconds())/1000/idleWindow.Seconds(), "idle-cpu-ms/s")
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

// resourceVersions lists the resourceVersion of obj and of every
// Deployment, Service and ConfigMap of ns.
func resourceVersions(b *testing.B, ns string, obj *v1alpha1.AppSource) map[string]string {
	out := map[string]string{}
	if err := get(context.Background(), obj); err != nil {
		b.Fatal(err)
	}
	out["AppSource"] = obj.ResourceVersion
	for _, list := range []client.ObjectList{&appsv1.DeploymentList{}, &corev1.ServiceList{}, &corev1.ConfigMapList{}} {
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

// renderedObjects reads the app's objects as the cluster holds them (the
// Deployments, Services and ConfigMaps the AppSource applied), reduced to
// what a plain apply would send: apiVersion, kind, name, namespace and the
// rest of the object but status.
func renderedObjects(b *testing.B, app *gitApp) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, gvk := range [][2]string{{"apps/v1", "DeploymentList"}, {"v1", "ServiceList"}, {"v1", "ConfigMapList"}} {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion(gvk[0])
		list.SetKind(gvk[1])
		if err := k8s.List(context.Background(), list, client.InNamespace(app.ns), client.HasLabels{v1alpha1.NameLabel}); err != nil {
			b.Fatal(err)
		}
		for _, item := range list.Items {
			o := item.DeepCopy()
			o.Object["metadata"] = map[string]any{"name": item.GetName(), "namespace": item.GetNamespace()}
			delete(o.Object, "status")
			unstructured.RemoveNestedField(o.Object, "spec", "clusterIP")
			unstructured.RemoveNestedField(o.Object, "spec", "clusterIPs")
			out = append(out, o)
		}
	}
	return out
}

// BenchmarkManyAppSources runs the manager binary (--concurrent=8) against
// 500 AppSources on 50 repositories of one Git server, 10 per repository,
// each its own folder with a ConfigMap. Each loop commits a new revision to
// every repository, announces it by webhook and waits until all 500 are
// Ready at it. It reports the time per revision, the fetches the server
// served per revision (one per repository when fetches are shared: 50), and
// the manager's peak RSS (target: under 300 MiB). Run it alone:
// -bench=ManyAppSources -benchtime=3x.
func BenchmarkManyAppSources(b *testing.B) {
	f := measureManyApps(b, 50, 10, 1, b.Loop)
	b.ReportMetric(at(f.perRevision, 0.5), "all-ready-s")
	b.ReportMetric(f.fetchesPerRevision, "fetches/revision")
	b.ReportMetric(float64(f.peakRSS[0])/(1<<20), "peak-RSS-MiB")
}

// BenchmarkShards runs 2,000 AppSources on 100 repositories, 20 each, with
// one manager and then split across two shards, in the same run. Half of
// each repository's AppSources are in each shard, so that both fetch every
// repository. Pushes go to the first shard's webhook receiver, which
// forwards the other's by annotation, as a Service in front of every
// manager has it. It reports per configuration the median time per
// revision until all are Ready, the fetches per repository, revision and
// shard (1 when a shard fetches each repository once), each manager's
// peak RSS, and the time to delete all 2,000 (each prunes its ConfigMap);
// then the two shards' figures over the one manager's. On one machine the
// shards share its cores: what sharding buys here is memory per process,
// not time. Run it alone: -bench=Shards -benchtime=3x.
func BenchmarkShards(b *testing.B) {
	one := measureManyApps(b, 100, 20, 1, b.Loop)
	n := len(one.perRevision)
	two := measureManyApps(b, 100, 20, 2, func() bool { n--; return n >= 0 })
	for _, f := range []struct {
		name string
		manyAppsFigures
	}{{"one", one}, {"two", two}} {
		b.ReportMetric(f.created.Seconds(), f.name+"-first-all-ready-s")
		b.ReportMetric(at(f.perRevision, 0.5), f.name+"-all-ready-p50-s")
		b.ReportMetric(f.fetchesPerRevision/float64(100*f.shards), f.name+"-fetches/repo/revision/shard")
		b.ReportMetric(float64(slices.Max(f.peakRSS))/(1<<20), f.name+"-peak-RSS-max-MiB")
		b.ReportMetric(f.deleted.Seconds(), f.name+"-all-deleted-s")
	}
	b.ReportMetric(at(two.perRevision, 0.5)/at(one.perRevision, 0.5), "all-ready-two/one")
	b.ReportMetric(float64(slices.Max(two.peakRSS))/float64(one.peakRSS[0]), "peak-RSS-two/one")
}

// manyAppsFigures are the figures of measureManyApps.
type manyAppsFigures struct {
	shards             int
	created            time.Duration   // from the first AppSource created to all Ready
	perRevision        []time.Duration // from a push to all Ready, sorted
	fetchesPerRevision float64         // served by the Git server
	peakRSS            []int64         // each manager's, in bytes
	deleted            time.Duration   // from deleting all to all gone
}

// measureManyApps runs repos×perRepo AppSources across shards managers (see
// startManyApps), pushing a revision while next says so, then deletes them
// all and stops the managers.
func measureManyApps(b *testing.B, repos, perRepo, shards int, next func() bool) manyAppsFigures {
	f := manyAppsFigures{shards: shards}
	apps := startManyApps(b, repos, perRepo, shards)
	apps.waitAllReady(b, 0)
	f.created = time.Since(apps.created)
	b.Logf("%d AppSources in %d shards created and Ready in %s, %d fetches", apps.count(), shards, f.created.Round(time.Millisecond), apps.server.UploadPacks())

	fetches := apps.server.UploadPacks()
	for i := 1; next(); i++ {
		b.StopTimer()
		apps.commit(i)
		b.StartTimer()
		start := time.Now()
		apps.push(b)
		apps.waitAllReady(b, i)
		f.perRevision = append(f.perRevision, time.Since(start))
	}
	slices.Sort(f.perRevision)
	f.fetchesPerRevision = float64(apps.server.UploadPacks()-fetches) / float64(len(f.perRevision))
	for _, m := range apps.managers {
		f.peakRSS = append(f.peakRSS, m.proc.peakRSS(b))
	}

	b.StopTimer()
	start := time.Now()
	if err := k8s.DeleteAllOf(b.Context(), &v1alpha1.AppSource{}, client.InNamespace(apps.ns)); err != nil {
		b.Fatal(err)
	}
	f.deleted = timeUntil(b, "all AppSources deleted", start, 5*time.Minute, func(ctx context.Context) (bool, error) {
		var list v1alpha1.AppSourceList
		err := k8s.List(ctx, &list, client.InNamespace(apps.ns), client.Limit(1))
		return err == nil && len(list.Items) == 0, err
	})
	for _, m := range apps.managers {
		m.proc.kill(b)
	}
	b.StartTimer()
	return f
}

// manyApps is the manager binary running perRepo AppSources on each of
// repos repositories of one Git server: AppSource repo-R-app-A applies the
// ConfigMap of folder app-A of repository R, which names the revision.
// With more than one shard, AppSource A is in shard A mod shards, and each
// shard has a manager of its own.
type manyApps struct {
	ns       string
	server   *gittest.HTTPSServer
	repos    []*gittest.Repo
	perRepo  int
	managers []*webhookManager // one per shard
	created  time.Time         // when the first AppSource was created
}

// startManyApps commits revision 0 everywhere, starts the managers and
// creates the AppSources.
func startManyApps(t testing.TB, repos, perRepo, shards int) *manyApps {
	m := &manyApps{ns: newNamespace(t), perRepo: perRepo,
		server: gittest.NewHTTPS(t, gittest.HTTPSOptions{Username: "u", Password: "pw"})}
	auth := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git-auth", Namespace: m.ns}, Data: map[string][]byte{
		"username": []byte("u"), "password": []byte("pw"), "caFile": m.server.CAPEM,
	}}
	if err := k8s.Create(t.Context(), auth); err != nil {
		t.Fatal(err)
	}
	for r := range repos {
		m.repos = append(m.repos, m.server.NewRepo(t, fmt.Sprintf("repo-%d.git", r)))
	}
	m.commit(0)
	shard := func(a int) string {
		if shards == 1 {
			return ""
		}
		return fmt.Sprintf("shard-%d", a%shards)
	}
	for a := range shards {
		m.managers = append(m.managers, startWebhookManager(t, m.ns, "--shard="+shard(a)))
	}
	m.created = time.Now()
	for r, repo := range m.repos {
		for a := range perRepo {
			obj := appSource(fmt.Sprintf("repo-%d-app-%d", r, a), m.ns, withURL(m.server.RepoURL(repo.Name)),
				withPath(fmt.Sprintf("app-%d", a)), withInterval(time.Hour), func(s *v1alpha1.AppSource) {
					s.Spec.Source.Git.SecretRef = &v1alpha1.LocalObjectReference{Name: "git-auth"}
					s.Spec.TargetNamespace = m.ns
					if name := shard(a); name != "" {
						s.Labels = map[string]string{v1alpha1.ShardLabel: name}
					}
				})
			createAppSource(t, obj)
		}
	}
	return m
}

func (m *manyApps) count() int { return len(m.repos) * m.perRepo }

// commit commits revision rev to every repository.
func (m *manyApps) commit(rev int) {
	for r, repo := range m.repos {
		for a := range m.perRepo {
			repo.WriteFile(fmt.Sprintf("app-%d/config.yaml", a), fmt.Sprintf(
				"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: repo-%d-app-%d}\ndata: {revision: \"%d\"}\n", r, a, rev))
		}
		repo.Commit(fmt.Sprintf("revision %d", rev))
	}
}

// push announces a push to every repository by webhook, to the first
// manager.
func (m *manyApps) push(t testing.TB) {
	for _, repo := range m.repos {
		m.managers[0].push(t, m.server.RepoURL(repo.Name))
	}
}

// webhookManager is the manager binary with its push webhook and its
// metrics on free ports.
type webhookManager struct {
	proc       *managerProcess
	url        string
	metricsURL string
	secret     []byte
}

func startWebhookManager(b testing.TB, ns string, args ...string) *webhookManager {
	args = append([]string{"--concurrent=8"}, args...)
	if addr := os.Getenv("DRIFTLESS_BENCH_PPROF"); addr != "" {
		args = append(args, "--pprof-bind-address="+addr) // to profile the manager while a benchmark runs
	}
	dir := os.Getenv("DRIFTLESS_BENCH_LOG") // to read the manager's debug log after a benchmark
	if dir != "" {
		args = append(args, "--log-level=debug")
	}
	w := startWebhookManagerProcess(b, buildManager(b), ns, "manager", args...)
	if dir != "" {
		b.Cleanup(func() {
			data, err := os.ReadFile(w.proc.log)
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "_")+".log"), data, 0o644)
			}
			if err != nil {
				b.Error(err)
			}
		})
	}
	return w
}

// startWebhookManagerProcess starts bin as name, with args added, its
// receivers read from the Secret hooks of ns (created if missing).
func startWebhookManagerProcess(b testing.TB, bin, ns, name string, args ...string) *webhookManager {
	w := &webhookManager{secret: []byte("hook-token")}
	hooks := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hooks", Namespace: ns},
		Data: map[string][]byte{"ci.generic": w.secret}}
	if err := k8s.Create(b.Context(), hooks); err != nil && !apierrors.IsAlreadyExists(err) {
		b.Fatal(err)
	}
	hookAddr, metricsAddr := freeAddr(b), freeAddr(b)
	w.url, w.metricsURL = "http://"+hookAddr+"/hook/ci", "http://"+metricsAddr+"/metrics"
	w.proc = startManagerProcess(b, bin, name, append([]string{"--metrics-bind-address=" + metricsAddr, "--metrics-secure=false",
		"--webhook-bind-address=" + hookAddr, "--webhook-secret=" + ns + "/hooks"}, args...)...)
	return w
}

// steps are the manager's reconciles so far and the seconds its main
// reconcile steps took, summed over them, from its metrics.
func (w *webhookManager) steps(b *testing.B) map[string]float64 {
	out := map[string]float64{"reconciles": metricSum(b, w.metricsURL, `controller_runtime_reconcile_total{controller="appsource"`)}
	for _, s := range []string{"fetch", "render", "plan", "apply", "health"} {
		out[s] = metricSum(b, w.metricsURL, `driftless_reconcile_step_duration_seconds_sum{step="`+s+`"}`)
	}
	return out
}

// perRelease is what the step counters gained from before to after, per
// release of releases.
func perRelease(before, after map[string]float64, releases int) map[string]float64 {
	out := make(map[string]float64, len(after))
	for name, v := range after {
		out[name] = (v - before[name]) / float64(releases)
	}
	return out
}

// reportSteps reports the reconciles and step times of a release, the
// times in unit: "s" or "ms".
func reportSteps(b *testing.B, steps map[string]float64, unit string) {
	scale := map[string]float64{"s": 1, "ms": 1000}[unit]
	for name, v := range steps {
		if name == "reconciles" {
			b.ReportMetric(v, "reconciles/release")
		} else {
			b.ReportMetric(v*scale, name+"-"+unit+"/release")
		}
	}
}

// handedOut are the addresses freeAddr has returned in this test binary.
var handedOut sync.Map

// freeAddr is a local address nothing listens on, never one it returned
// before: the kernel may give a port just closed again, and two flags of
// one process given the same address make it fail to start.
func freeAddr(b testing.TB) string {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if _, seen := handedOut.LoadOrStore(addr, true); !seen {
			return addr
		}
	}
}

// cpu is the CPU time the manager process's threads have run, summed from
// the scheduler's per-thread counters in nanoseconds (/proc/<pid>/stat
// counts 10 ms ticks, too coarse for a reconcile). Go's threads live as
// long as the process, so no thread's time leaves the sum.
func (w *webhookManager) cpu(b *testing.B) time.Duration { return w.proc.cpu(b) }

// cpu is the CPU time the process's threads have run (see
// webhookManager.cpu).
func (p *managerProcess) cpu(b testing.TB) time.Duration {
	tasks := fmt.Sprintf("/proc/%d/task", p.cmd.Process.Pid)
	des, err := os.ReadDir(tasks)
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for _, de := range des {
		stat, err := os.ReadFile(tasks + "/" + de.Name() + "/schedstat")
		if err != nil {
			continue // the thread has just exited
		}
		ran, _, _ := strings.Cut(string(stat), " ")
		ns, err := strconv.ParseInt(ran, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		total += time.Duration(ns)
	}
	return total
}

// reconciles is how many AppSource reconciles the manager has finished,
// from its metrics.
func (w *webhookManager) reconciles(b *testing.B) int {
	return reconcileCount(b, w.metricsURL, "appsource")
}

// reconcileCount is how many reconciles the controller of a
// controller-runtime manager whose metrics are at url has finished.
func reconcileCount(b testing.TB, url, controller string) int {
	return int(metricSum(b, url, `controller_runtime_reconcile_total{controller="`+controller+`"`))
}

// metricSum sums the samples at url whose line starts with prefix (a
// metric's name, or its name and the start of its labels).
func metricSum(t testing.TB, url, prefix string) float64 {
	total, err := scrapeSum(url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// scrapeSum is metricSum's scrape, which may fail.
func scrapeSum(url, prefix string) (float64, error) {
	lines, err := scrapeLines(url, prefix)
	if err != nil {
		return 0, err
	}
	total := 0.0
	for _, line := range lines {
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %q: %w", url, line, err)
		}
		total += v
	}
	return total, nil
}

// scrapeLines returns the lines at url that start with prefix.
func scrapeLines(url, prefix string) ([]string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var lines []string
	for line := range strings.SplitSeq(string(body), "\n") {
		if strings.HasPrefix(line, prefix) {
			lines = append(lines, line)
		}
	}
	return lines, nil
}

// push announces a push to main of the repository at url, as a generic
// webhook would, retrying while the receiver is not up yet.
func (w *webhookManager) push(b testing.TB, url string) {
	err := wait.PollUntilContextTimeout(b.Context(), 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		resp, err := http.DefaultClient.Do(signedPush(w.url, w.secret, url))
		if err != nil {
			return false, nil // not listening yet
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		b.Fatalf("webhook push of %s: %v", url, err)
	}
}

// peakRSS is the process's peak resident set size, in bytes: its memory
// and the pages of its binary it touched.
func (p *managerProcess) peakRSS(b testing.TB) int64 {
	n, err := p.status("VmHWM")
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// sampleAnonymous samples the process's anonymous resident memory (the Go
// heap, stacks and runtime, not its binary's pages: what GOMEMLIMIT
// bounds) every 50 ms until the test ends, and returns the highest sample
// so far.
func (p *managerProcess) sampleAnonymous(t testing.TB) func() int64 {
	var peak atomic.Int64
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go func() {
		for ctx.Err() == nil {
			if n, err := p.status("RssAnon"); err == nil && n > peak.Load() {
				peak.Store(n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return peak.Load
}

// status reads a field of /proc/<pid>/status, in bytes.
func (p *managerProcess) status(field string) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if kb, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")), 10, 64)
			return n << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc status", field)
}

// waitAllReady waits until every AppSource is Ready and every ConfigMap
// carries revision.
func (m *manyApps) waitAllReady(t testing.TB, revision int) {
	ns, n := m.ns, m.count()
	var seen string
	err := wait.PollUntilContextTimeout(t.Context(), time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		var list v1alpha1.AppSourceList
		if err := k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		ready, notReady := 0, ""
		for i := range list.Items {
			if c := condition(&list.Items[i], v1alpha1.ReadyCondition); c != nil && c.Status == metav1.ConditionTrue {
				ready++
			} else {
				notReady = fmt.Sprintf("%s: %+v", list.Items[i].Name, list.Items[i].Status.Conditions)
			}
		}
		var cms corev1.ConfigMapList
		if err := k8s.List(ctx, &cms, client.InNamespace(ns), client.HasLabels{v1alpha1.NameLabel}); err != nil {
			return false, err
		}
		current := 0
		for _, cm := range cms.Items {
			if cm.Data["revision"] == strconv.Itoa(revision) {
				current++
			}
		}
		seen = fmt.Sprintf("%d of %d Ready, %d ConfigMaps of %d at revision %d; not Ready: %s",
			ready, len(list.Items), current, len(cms.Items), revision, notReady)
		return ready == n && current == n, nil
	})
	if err != nil {
		t.Fatalf("%d AppSources Ready at revision %d: %v; last seen %s", n, revision, err, seen)
	}
}
