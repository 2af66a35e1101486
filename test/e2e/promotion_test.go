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
	"github.com/driftless-dev/driftless/internal/localcluster"
)

// envYAML is the Deployment of one environment's folder; staging's pods
// take a second to become ready, so that a rollout can be watched.
func envYAML(env, image string, neverReady bool) string {
	labels := "{app: web-" + env + "}"
	if neverReady {
		labels = "{app: web-" + env + ", " + localcluster.NeverReadyLabel + `: "true"}`
	}
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web-` + env + `}
spec:
  replicas: 2
  progressDeadlineSeconds: 5
  selector: {matchLabels: {app: web-` + env + `}}
  template:
    metadata: {labels: ` + labels + `, annotations: {` + localcluster.ReadyDelayAnnotation + `: "1s"}}
    spec: {containers: [{name: web, image: ` + image + `}]}
`
}

// commitEnvs writes every environment at image (staging's pods never ready
// when badStaging) in one commit.
func commitEnvs(app *gitApp, image string, badStaging bool) string {
	for _, env := range []string{"dev", "staging", "prod"} {
		app.repo.WriteFile("envs/"+env+"/web.yaml", envYAML(env, image, badStaging && env == "staging"))
	}
	return app.repo.Commit(image)
}

func TestPromotionReachesProdOnlyThroughStaging(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	first := commitEnvs(app, "example.com/web:1", false)
	env := func(name string, opts ...func(*v1alpha1.AppSource)) *v1alpha1.AppSource {
		return app.appSource(t, name, append([]func(*v1alpha1.AppSource){withPath("envs/" + name), withStrategy(v1alpha1.Strategy{
			Type: v1alpha1.StrategyRolling, Rolling: &v1alpha1.RollingStrategy{AutoRollback: true},
		})}, opts...)...)
	}
	after := func(upstream string) func(*v1alpha1.AppSource) {
		return func(a *v1alpha1.AppSource) {
			a.Spec.Promotion = &v1alpha1.Promotion{After: []v1alpha1.AppSourceReference{{Name: upstream}}}
		}
	}
	dev, staging, prod := env("dev"), env("staging"), env("prod", after("staging"))
	for _, obj := range []*v1alpha1.AppSource{dev, staging, prod} {
		waitApplied(t, obj, first)
	}

	t.Run("a commit reaches dev and staging at once, prod once staging is healthy", func(t *testing.T) {
		second := commitEnvs(app, "example.com/web:2", false)
		for _, obj := range []*v1alpha1.AppSource{dev, staging, prod} {
			requestReconcile(t, obj)
		}
		eventually(t, time.Minute, "prod awaiting promotion", func(ctx context.Context) (bool, error) {
			err := get(ctx, prod)
			return err == nil && strings.HasSuffix(prod.Status.PendingRevision, second), err
		})
		if err := get(t.Context(), staging); err != nil || strings.HasSuffix(staging.Status.LastGoodRevision, second) {
			t.Logf("staging was already good at %s when prod was seen waiting", staging.Status.LastGoodRevision)
		}
		if !strings.HasSuffix(prod.Status.LastAppliedRevision, first) {
			t.Errorf("prod applied %s before staging proved it", prod.Status.LastAppliedRevision)
		}
		waitApplied(t, staging, second)
		waitApplied(t, prod, second)
		assertPromoted(t, prod, metav1.ConditionTrue, v1alpha1.PromotedReason)
		if prod.Status.LastGoodTime.Before(staging.Status.LastGoodTime) {
			t.Errorf("prod good at %s, before staging at %s", prod.Status.LastGoodTime, staging.Status.LastGoodTime)
		}
	})

	t.Run("a commit that fails staging never reaches prod; the next good one does", func(t *testing.T) {
		bad := commitEnvs(app, "example.com/web:3", true)
		requestReconcile(t, staging)
		waitReady(t, staging, metav1.ConditionFalse, v1alpha1.RolledBackReason)
		requestReconcile(t, prod)
		waitHandled(t, prod)
		assertPromoted(t, prod, metav1.ConditionFalse, v1alpha1.AwaitingPromotionReason)
		if !strings.HasSuffix(prod.Status.PendingRevision, bad) || strings.HasSuffix(prod.Status.LastAppliedRevision, bad) {
			t.Errorf("prod pending %s, applied %s; want %s pending, never applied", prod.Status.PendingRevision, prod.Status.LastAppliedRevision, bad)
		}
		good := commitEnvs(app, "example.com/web:4", false)
		promotedPast(t, staging, prod, good, bad)
	})

	t.Run("soak time", func(t *testing.T) {
		update(t, prod, func(a *v1alpha1.AppSource) { a.Spec.Promotion.SoakSeconds = 3 })
		soaked := commitEnvs(app, "example.com/web:5", false)
		requestReconcile(t, staging)
		waitApplied(t, staging, soaked)
		requestReconcile(t, prod)
		eventually(t, time.Minute, "prod soaking", func(ctx context.Context) (bool, error) {
			err := get(ctx, prod)
			c := condition(prod, v1alpha1.PromotedCondition)
			return err == nil && (c != nil && strings.Contains(c.Message, "soaking until") || strings.HasSuffix(prod.Status.LastGoodRevision, soaked)), err
		})
		if strings.HasSuffix(prod.Status.LastAppliedRevision, soaked) {
			t.Errorf("prod applied %s without soaking", soaked)
		}
		waitApplied(t, prod, soaked)
		if gap := prod.Status.LastGoodTime.Sub(staging.Status.LastGoodTime.Time); gap < 3*time.Second {
			t.Errorf("prod good %s after staging, want at least the 3s soak", gap)
		}
	})

	t.Run("a commit force-pushed away after staging ran it is never promoted", func(t *testing.T) {
		base := app.repo.Git("rev-parse", "HEAD")
		doomed := commitEnvs(app, "example.com/web:6", false)
		requestReconcile(t, staging)
		waitApplied(t, staging, doomed)
		app.repo.ResetHard(base)
		app.repo.Prune()
		replacement := commitEnvs(app, "example.com/web:7", false)
		requestReconcile(t, prod)
		waitHandled(t, prod)
		c := condition(prod, v1alpha1.PromotedCondition)
		if err := get(t.Context(), staging); err == nil && strings.HasSuffix(staging.Status.LastGoodRevision, doomed) &&
			(c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, doomed)) {
			t.Errorf("Promoted %+v, want False naming the vanished commit staging runs", c)
		}
		promotedPast(t, staging, prod, replacement, doomed)
	})

	t.Run("manual promotion is explicit and recorded", func(t *testing.T) {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("prod status: %+v", prod.Status)
			}
		})
		update(t, staging, func(a *v1alpha1.AppSource) { a.Spec.Suspend = true }) // staging will not prove it
		update(t, prod, func(a *v1alpha1.AppSource) { a.Annotations[v1alpha1.PromoteAnnotation] = strings.Repeat("ab", 20) })
		// The refusal is recorded in the history: Ready says it only until
		// the next reconcile, which staging's suspension may wake at once.
		eventually(t, time.Minute, "refused", func(ctx context.Context) (bool, error) {
			err := get(ctx, prod)
			return err == nil && slices.ContainsFunc(prod.Status.History, func(h v1alpha1.HistoryEntry) bool {
				return h.Result == v1alpha1.RevisionNotFoundReason && strings.Contains(h.Message, "not a commit of")
			}), err
		})
		pending := commitEnvs(app, "example.com/web:8", false)
		update(t, prod, func(a *v1alpha1.AppSource) { a.Annotations[v1alpha1.PromoteAnnotation] = pending })
		waitApplied(t, prod, pending)
		assertPromoted(t, prod, metav1.ConditionTrue, v1alpha1.ManualPromotionReason)
	})

	cycleA := app.appSource(t, "cycle-a", withPath("envs/dev"), after("cycle-b"))
	app.appSource(t, "cycle-b", withPath("envs/dev"), after("cycle-a"))
	waitReady(t, cycleA, metav1.ConditionFalse, v1alpha1.InvalidSpecReason)
	if msg := condition(cycleA, v1alpha1.ReadyCondition).Message; !strings.Contains(msg, "cycle") {
		t.Errorf("cycle message %q", msg)
	}
}

func condition(obj *v1alpha1.AppSource, kind string) *metav1.Condition {
	for i, c := range obj.Status.Conditions {
		if c.Type == kind {
			return &obj.Status.Conditions[i]
		}
	}
	return nil
}

func assertPromoted(t *testing.T, obj *v1alpha1.AppSource, status metav1.ConditionStatus, reason string) {
	t.Helper()
	if c := condition(obj, v1alpha1.PromotedCondition); c == nil || c.Status != status || c.Reason != reason {
		t.Errorf("Promoted %s, want %s %s", fmt.Sprint(c), status, reason)
	}
}

// promotedPast reconciles upstream at once and waits until it and prod run
// commit, which prod's history shows without ever having applied skipped.
func promotedPast(t *testing.T, upstream, prod *v1alpha1.AppSource, commit, skipped string) {
	t.Helper()
	requestReconcile(t, upstream)
	waitApplied(t, upstream, commit)
	waitApplied(t, prod, commit)
	for _, h := range prod.Status.History {
		if strings.HasSuffix(h.Revision, skipped) {
			t.Errorf("prod history has %s, which it should have skipped: %+v", skipped, h)
		}
	}
}
