package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/webhook"
)

// BenchmarkCommitToApplied measures the time from a push, announced by a
// webhook, to the AppSource reporting the commit applied, for an app of 20
// objects (10 Deployments and 10 Services) whose every Deployment changes.
// It reports the median and the 99th percentile over b.N commits; the peer
// figure (Flux, same machine kind, webhook at push time) is 0.69 s.
func BenchmarkCommitToApplied(b *testing.B) {
	reconciler := startManager(b)
	app := newGitApp(b)
	write := func(tag string) {
		var docs []string
		for i := range 10 {
			docs = append(docs, strings.ReplaceAll(deploymentYAML("example.com/web:"+tag), "name: web}", fmt.Sprintf("name: web-%d}", i)),
				fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: web-%d}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n", i))
		}
		app.repo.WriteFile("deploy/deployment.yaml", strings.Join(docs, "---\n"))
	}
	write("0")
	app.repo.Commit("20 objects")
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
		err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
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
