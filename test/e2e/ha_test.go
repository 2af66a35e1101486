package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// leaseFlags make a killed leader's Lease expire within seconds.
var leaseFlags = []string{"--leader-election-lease-duration=4s",
	"--leader-election-renew-deadline=3s", "--leader-election-retry-period=500ms"}

// startReplicas starts the manager binary as replicas named names, which
// elect a leader with a Lease in a namespace of their own. The first is
// started alone, with the failpoints given (see controllers.Failpoints),
// and leads before the others start without any.
func startReplicas(t testing.TB, bin, ns, failpoints string, names ...string) []*webhookManager {
	t.Helper()
	args := electionArgs(t, leaseFlags)
	t.Setenv("DRIFTLESS_FAILPOINTS", failpoints)
	replicas := []*webhookManager{startWebhookManagerProcess(t, bin, ns, names[0], args...)}
	eventually(t, time.Minute, names[0]+" leads", func(context.Context) (bool, error) {
		return leads(replicas[0]), nil
	})
	t.Setenv("DRIFTLESS_FAILPOINTS", "")
	for _, name := range names[1:] {
		replicas = append(replicas, startReplica(t, bin, ns, name, args))
	}
	return replicas
}

// electionArgs are the flags of replicas that elect a leader with the
// lease flags given, in a namespace of their own.
func electionArgs(t testing.TB, lease []string) []string {
	return append([]string{"--leader-elect=true", "--leader-election-namespace=" + newNamespace(t)}, lease...)
}

// startReplica starts the manager binary as name with args and waits until
// it serves its metrics.
func startReplica(t testing.TB, bin, ns, name string, args []string) *webhookManager {
	t.Helper()
	w := startWebhookManagerProcess(t, bin, ns, name, args...)
	eventually(t, time.Minute, name+" serves its metrics", func(context.Context) (bool, error) {
		_, err := scrapeSum(w.metricsURL, "leader_election_master_status")
		return err == nil, nil
	})
	return w
}

// leads reports whether the replica holds its Lease, from its metrics (a
// replica not serving them yet does not).
func leads(w *webhookManager) bool {
	n, err := scrapeSum(w.metricsURL, "leader_election_master_status")
	return err == nil && n == 1
}

// TestHAFailover kills the leader of two replicas inside a release: the
// other takes over and finishes it, and the two never write at once.
func TestHAFailover(t *testing.T) {
	bin := buildManager(t)
	t.Run("blue-green switch, push to the replica that does not lead", func(t *testing.T) {
		app := newGitApp(t)
		blueGreenApp(app, "example.com/web:1", "1", false)
		deployer := startManagerProcess(t, bin, "deployer")
		obj := app.appSource(t, "web", withInterval(time.Hour), withStrategy(v1alpha1.Strategy{Type: v1alpha1.StrategyBlueGreen,
			BlueGreen: &v1alpha1.BlueGreenStrategy{ActiveServices: []string{"web-active", "web-preview"}, ScaleDownDelaySeconds: 1}}))
		waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
		deployer.kill(t)
		// The first replica leads, and kills itself between the switches of
		// the two active Services of the next release.
		r := startReplicas(t, bin, app.ns, "switch@1=kill", "first", "second")
		leader, follower := r[0], r[1]
		from := obj.Status.Rollout.ActiveColor
		to := map[string]string{"blue": "green", "green": "blue"}[from]
		if reconcileCount(t, follower.metricsURL, "appsource") != 0 {
			t.Fatal("the replica that does not lead reconciled")
		}
		endpoints := sampleEndpoints(t, app.ns, "web-active")

		commit := blueGreenApp(app, "example.com/web:2", "2", false)
		follower.push(t, app.server.RepoURL("app.git"))
		eventually(t, time.Minute, "the leader killed between the two switches", func(context.Context) (bool, error) {
			return leader.proc.exited(), nil
		})
		killed := time.Now()
		if metricSum(t, follower.metricsURL, "driftless_webhook_pushes_forwarded_total") != 1 {
			t.Error("the push was not forwarded to the leader by annotation")
		}
		eventually(t, time.Minute, "the second replica reconciles", func(context.Context) (bool, error) {
			return reconcileCount(t, follower.metricsURL, "appsource") > 0, nil
		})
		t.Logf("the second replica reconciled %s after the leader's SIGKILL (lease 4s, retry 0.5s)", time.Since(killed).Round(10*time.Millisecond))
		waitApplied(t, obj, commit)
		assertSelects(t, app.ns, "web-active", to)
		assertSelects(t, app.ns, "web-preview", to)
		if mixed, empty, samples := endpoints.counts(); mixed != 0 || empty != 0 {
			t.Errorf("web-active's EndpointSlices: %d of %d samples showed both colours (first: %s), %d none", mixed, samples, endpoints.firstMixed, empty)
		}
		assertOneWriterAtATime(t, app.ns, leader, follower)
	})
	t.Run("rolling release rolled back", func(t *testing.T) {
		app := newGitApp(t)
		app.repo.WriteFile("deploy/deployment.yaml", rollingYAML("example.com/web:1", false))
		good := app.repo.Commit("good")
		r := startReplicas(t, bin, app.ns, "", "first", "second")
		leader, follower := r[0], r[1]
		obj := app.appSource(t, "web", withStrategy(v1alpha1.Strategy{
			Type: v1alpha1.StrategyRolling, Rolling: &v1alpha1.RollingStrategy{AutoRollback: true},
		}))
		waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)

		app.repo.WriteFile("deploy/deployment.yaml", rollingYAML("example.com/web:2", true))
		bad := app.repo.Commit("pods never become ready")
		requestReconcile(t, obj)
		// Killed while the bad revision rolls out, before its deadline
		// passes: the rollback is the next leader's to make.
		eventually(t, time.Minute, "the bad revision rolling out", func(ctx context.Context) (bool, error) {
			err := get(ctx, obj)
			ro := obj.Status.Rollout
			return err == nil && ro != nil && strings.HasSuffix(ro.Revision, bad) && ro.Phase == v1alpha1.RolloutProgressing, err
		})
		leader.proc.kill(t)
		waitReady(t, obj, metav1.ConditionFalse, v1alpha1.RolledBackReason)
		if !strings.HasSuffix(obj.Status.LastAppliedRevision, good) || !strings.HasSuffix(obj.Status.Rollout.HeldRevision, bad) {
			t.Errorf("lastApplied %s, held %s: want %s applied and %s held", obj.Status.LastAppliedRevision, obj.Status.Rollout.HeldRevision, good, bad)
		}
		if img := app.deployment(t).Spec.Template.Spec.Containers[0].Image; img != "example.com/web:1" {
			t.Errorf("image after the rollback %s, want example.com/web:1", img)
		}
		if metricSum(t, follower.metricsURL, `driftless_rollouts_failed_total{name="web",namespace="`+app.ns+`",reason="RolledBack"}`) != 1 {
			lines, _ := scrapeLines(follower.metricsURL, "driftless_rollouts_failed_total")
			t.Errorf("the rollback is not counted in driftless_rollouts_failed_total:\n%s", strings.Join(lines, "\n"))
		}
		assertOneWriterAtATime(t, app.ns, leader, follower)
	})
}

// TestShardsReconcileTheirOwn runs two shards beside the unsharded manager:
// each AppSource is reconciled by its shard's manager alone, and moving one
// is a label change.
func TestShardsReconcileTheirOwn(t *testing.T) {
	bin := buildManager(t)
	apps := map[string]*gitApp{"": newGitApp(t), "a": newGitApp(t), "b": newGitApp(t)}
	managers := map[string]*webhookManager{}
	objs := map[string]*v1alpha1.AppSource{}
	for _, shard := range []string{"", "a", "b"} {
		app := apps[shard]
		managers[shard] = startWebhookManagerProcess(t, bin, app.ns, "shard-"+shard, "--shard="+shard)
		objs[shard] = app.appSource(t, "web", func(o *v1alpha1.AppSource) {
			if shard != "" {
				o.Labels = map[string]string{v1alpha1.ShardLabel: shard}
			}
		})
	}
	for _, obj := range objs {
		waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	}
	// exports reports whether the manager of shard exports app's Ready.
	exports := func(shard string, app *gitApp) bool {
		return metricSum(t, managers[shard].metricsURL, `driftless_appsource_condition{name="web",namespace="`+app.ns+`",reason="ReconciliationSucceeded",status="True",type="Ready"}`) == 1
	}
	for owner, app := range apps {
		for shard := range managers {
			if got := exports(shard, app); got != (shard == owner) {
				t.Errorf("the manager of shard %q exports the AppSource of shard %q: %v", shard, owner, got)
			}
		}
		assertWrittenBy(t, app.ns, managers[owner])
	}

	// Moving a's AppSource to b: a forgets it, b takes it, nothing is lost.
	update(t, objs["a"], func(o *v1alpha1.AppSource) { o.Labels[v1alpha1.ShardLabel] = "b" })
	eventually(t, time.Minute, "shard b takes the AppSource moved to it, shard a forgets it", func(context.Context) (bool, error) {
		return exports("b", apps["a"]) && !exports("a", apps["a"]), nil
	})
	apps["a"].repo.WriteFile("deploy/deployment.yaml", deploymentYAML("example.com/web:moved"))
	commit := apps["a"].repo.Commit("after the move")
	managers["b"].push(t, apps["a"].server.RepoURL("app.git"))
	eventually(t, time.Minute, "the moved AppSource applies a push", func(ctx context.Context) (bool, error) {
		err := get(ctx, objs["a"])
		return err == nil && strings.HasSuffix(objs["a"].Status.LastAppliedRevision, commit), err
	})
	if n := len(objs["a"].Status.Inventory.Entries); n == 0 {
		t.Error("the moved AppSource's inventory is empty")
	}
}

// writesIn returns the managers' writes to objects of ns, by process id,
// but for the annotations that forward pushes to a leader.
func writesIn(t *testing.T, ns string) map[int][]time.Time {
	t.Helper()
	writes := map[int][]time.Time{}
	for _, e := range auditEvents(t) {
		ref := e.ObjectRef
		if ref.Namespace != ns || !strings.HasPrefix(e.UserAgent, "driftless-manager/") || !e.isWrite() {
			continue
		}
		if e.Verb == "patch" && ref.Resource == "appsources" && ref.Subresource == "" {
			continue // a push forwarded by the reconcile-request annotation: see OnPush
		}
		var pid int
		if _, err := fmt.Sscanf(e.UserAgent[strings.LastIndex(e.UserAgent, "pid "):], "pid %d)", &pid); err != nil {
			t.Fatalf("user agent %q names no process: %v", e.UserAgent, err)
		}
		writes[pid] = append(writes[pid], e.Received.Time)
	}
	return writes
}

// assertOneWriterAtATime checks in the audit log that every write of first
// to ns was received before any write of second, and that both wrote.
func assertOneWriterAtATime(t *testing.T, ns string, first, second *webhookManager) {
	t.Helper()
	writes := writesIn(t, ns)
	a, b := writes[first.proc.cmd.Process.Pid], writes[second.proc.cmd.Process.Pid]
	if len(a) == 0 || len(b) == 0 {
		t.Fatalf("audit log: %d writes by the first replica, %d by the second: want both", len(a), len(b))
	}
	if last, next := slices.MaxFunc(a, time.Time.Compare), slices.MinFunc(b, time.Time.Compare); !last.Before(next) {
		t.Errorf("audit log: the first replica wrote until %s, the second from %s: they wrote at once", last.Format(time.StampMicro), next.Format(time.StampMicro))
	}
}

// assertWrittenBy checks in the audit log that only w wrote to ns.
func assertWrittenBy(t *testing.T, ns string, w *webhookManager) {
	t.Helper()
	for pid, times := range writesIn(t, ns) {
		if pid != w.proc.cmd.Process.Pid {
			t.Errorf("audit log: process %d wrote %d times to %s, which %s owns", pid, len(times), ns, w.proc.name)
		}
	}
}

// BenchmarkFailover kills the leader of two replicas b.N times (run it
// with -benchtime=10x), each time with a release pending: a commit
// announced by webhook to the replica that does not lead, right after the
// kill. It reports the medians from the SIGKILL to the Lease taken by the
// other replica, to its first reconcile and to the release applied, beside
// the same release through a live leader in the same loop. A killed
// leader's Lease is not released, so the next leader waits for it to
// expire: the figures are reported against the lease duration, once with
// the tests' short lease and once with the manager's defaults (15s lease,
// 10s renew deadline, 2s retry period).
func BenchmarkFailover(b *testing.B) {
	bin := buildManager(b)
	for _, lease := range []struct {
		duration time.Duration
		flags    []string
	}{{4 * time.Second, leaseFlags}, {15 * time.Second, nil}} {
		b.Run(fmt.Sprintf("lease=%s", lease.duration), func(b *testing.B) {
			app := newGitApp(b)
			url := app.server.RepoURL("app.git")
			args := electionArgs(b, lease.flags)
			leader := startReplica(b, bin, app.ns, "replica-0", args)
			eventually(b, time.Minute, "replica-0 leads", func(context.Context) (bool, error) { return leads(leader), nil })
			follower := startReplica(b, bin, app.ns, "replica-1", args)
			obj := app.appSource(b, "web", withInterval(time.Hour))
			waitReady(b, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
			commit := func(tag string) func(context.Context) (bool, error) {
				app.repo.WriteFile("deploy/deployment.yaml", deploymentYAML("example.com/web:"+tag))
				commit := app.repo.Commit(tag)
				return func(ctx context.Context) (bool, error) {
					err := get(ctx, obj)
					return err == nil && strings.HasSuffix(obj.Status.LastAppliedRevision, commit), err
				}
			}

			var live, elected, reconciled, applied []time.Duration
			for i := 0; b.Loop(); i++ {
				// The baseline: a release through the live leader.
				done := commit(fmt.Sprintf("live-%d", i))
				start := time.Now()
				leader.push(b, url)
				live = append(live, timeUntil(b, "a release through the live leader", start, time.Minute, done))

				done = commit(fmt.Sprintf("failover-%d", i))
				leader.proc.kill(b)
				start = time.Now()
				follower.push(b, url)
				elected = append(elected, timeUntil(b, "the Lease taken", start, 2*time.Minute, func(context.Context) (bool, error) {
					return leads(follower), nil
				}))
				reconciled = append(reconciled, timeUntil(b, "the new leader's first reconcile", start, time.Minute, func(context.Context) (bool, error) {
					n, err := scrapeSum(follower.metricsURL, `controller_runtime_reconcile_total{controller="appsource"`)
					return err == nil && n > 0, nil
				}))
				applied = append(applied, timeUntil(b, "the release pending at the kill", start, time.Minute, done))
				leader, follower = follower, startReplica(b, bin, app.ns, fmt.Sprintf("replica-%d", i+2), args)
			}
			for _, s := range [][]time.Duration{live, elected, reconciled, applied} {
				slices.Sort(s)
			}
			b.ReportMetric(lease.duration.Seconds(), "lease-s")
			b.ReportMetric(at(elected, 0.5), "kill-elected-p50-s")
			b.ReportMetric(at(reconciled, 0.5), "kill-reconciled-p50-s")
			b.ReportMetric(at(applied, 0.5), "kill-applied-p50-s")
			b.ReportMetric(at(applied, 1), "kill-applied-max-s")
			b.ReportMetric(at(live, 0.5), "live-applied-p50-s")
			b.ReportMetric(at(reconciled, 0.5)/lease.duration.Seconds(), "reconciled/lease")
			b.ReportMetric(at(applied, 0.5)/at(live, 0.5), "applied-failover/live")
		})
	}
}
