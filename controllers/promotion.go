package controllers

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/source"
)

// checkPromotion lets a head revision through only once every AppSource of
// spec.promotion.after has proven it: its lastGoodRevision is that commit,
// or a newer one that contains it, for at least soakSeconds. Until then the
// AppSource keeps running (and drift-correcting) the revision it applied.
// A revision the upstream rolled back or aborted is never proven, and one
// force-pushed away is contained in nothing.
func (r *AppSourceReconciler) checkPromotion(ctx context.Context, st *state) error {
	p := st.obj.Spec.Promotion
	if p == nil {
		apimeta.RemoveStatusCondition(&st.obj.Status.Conditions, v1alpha1.PromotedCondition)
		st.obj.Status.PendingRevision = ""
		return nil
	}
	if st.pin != "" {
		return nil // a held revision already pins the last good one
	}
	if cycle := r.findCycle(ctx, st.obj, promotedAfter); cycle != "" {
		return stalled(v1alpha1.InvalidSpecReason, fmt.Errorf("promotion.after forms a cycle: %s", cycle))
	}
	req, head, err := r.head(ctx, st)
	if err != nil {
		return err
	}
	if manual, ok := requestedRevision(st.obj); ok {
		return r.promoteByRequest(ctx, st, req, head, manual)
	}
	status := &st.obj.Status
	if status.LastAppliedRevision == head.Revision {
		// Running the head already, promoted or by request: nothing waits.
		status.PendingRevision, st.pin = "", head.Revision
		return nil
	}
	gate, err := r.promotionGate(ctx, st, req, head)
	if err != nil {
		return err
	}
	if gate.blockedBy != "" {
		status.PendingRevision = head.Revision
		setCondition(st.obj, v1alpha1.PromotedCondition, metav1.ConditionFalse, v1alpha1.AwaitingPromotionReason,
			fmt.Sprintf("%s waits: %s", head.Revision, gate.blockedBy))
		st.recheckWithin(gate.recheck)
		if status.LastAppliedRevision == "" {
			return waiting(v1alpha1.AwaitingPromotionReason, gate.recheck, "nothing applied yet; %s waits: %s", head.Revision, gate.blockedBy)
		}
		st.pin = status.LastAppliedRevision
		return nil
	}
	status.PendingRevision = ""
	setCondition(st.obj, v1alpha1.PromotedCondition, metav1.ConditionTrue, v1alpha1.PromotedReason,
		fmt.Sprintf("%s is proven by %s", head.Revision, gate.provenBy))
	st.pin, st.promotedSince = head.Revision, gate.goodSince
	return nil
}

// gate is what the upstreams say about a revision.
type gate struct {
	blockedBy string        // why not yet, naming the upstream; "" when proven
	provenBy  string        // the upstreams, for the message
	goodSince time.Time     // when the last upstream became good at it
	recheck   time.Duration // when a soak ends
}

// promotionGate checks head against every upstream's last good revision.
func (r *AppSourceReconciler) promotionGate(ctx context.Context, st *state, req source.Request, head source.Result) (gate, error) {
	var g gate
	for _, ref := range st.obj.Spec.Promotion.After {
		key, err := r.dependencyKey(st.obj, ref)
		if err != nil {
			return g, err
		}
		up, err := r.upstream(ctx, key)
		if err != nil {
			g.blockedBy = err.Error()
			return g, nil
		}
		why, since, err := r.proves(ctx, up, req, head, chartOf(st.obj))
		if err != nil {
			return g, err
		}
		if why != "" {
			g.blockedBy = fmt.Sprintf("%s %s", key, why)
			return g, nil
		}
		soakEnds := since.Add(time.Duration(st.obj.Spec.Promotion.SoakSeconds) * time.Second)
		if wait := time.Until(soakEnds); wait > 0 {
			g.blockedBy, g.recheck = fmt.Sprintf("%s is good at it since %s, soaking until %s", key,
				since.UTC().Format(time.RFC3339), soakEnds.UTC().Format(time.RFC3339)), wait
			return g, nil
		}
		g.provenBy += key.String() + " "
		g.goodSince = maxTime(g.goodSince, since)
	}
	return g, nil
}

// proves says why up has not proven head ("" when it has), and since when
// it is good at a commit containing head (and, with a chart of a
// repository, at the same chart version).
func (r *AppSourceReconciler) proves(ctx context.Context, up *v1alpha1.AppSource, req source.Request, head source.Result, chart *v1alpha1.HelmChart) (string, time.Time, error) {
	good, since := up.Status.LastGoodRevision, time.Time{}
	if up.Status.LastGoodTime != nil {
		since = up.Status.LastGoodTime.Time
	}
	switch {
	case up.Status.Rollout != nil && up.Status.Rollout.HeldRevision == head.Revision:
		return fmt.Sprintf("failed it (%s); it is never promoted", up.Status.Rollout.Phase), since, nil
	case good == "":
		return "has no good revision yet", since, nil
	case chart != nil && !sameChartVersion(good, head.Revision, chart.Name):
		return fmt.Sprintf("is good at %s, another version of chart %s", good, chart.Name), since, nil
	case commitOf(good) == head.Commit:
		return "", since, nil
	case up.Spec.Source.Git.URL != req.URL:
		return fmt.Sprintf("follows another repository (%s)", up.Spec.Source.Git.URL), since, nil
	}
	contained, err := r.Source.Contains(ctx, req, head.Commit, commitOf(good))
	switch {
	case errors.Is(err, source.ErrRevisionNotFound):
		return fmt.Sprintf("is good at %s, which the remote no longer has", good), since, nil
	case err != nil:
		return "", since, failed(sourceReason(err), fmt.Errorf("promotion: %w", err))
	case !contained:
		return fmt.Sprintf("is good at %s, which does not contain it", good), since, nil
	}
	return "", since, nil
}

// revisionValue is a promote annotation that names a revision rather than
// a blue-green promotion: a full commit hash, or "<ref>@sha1:<hash>".
var revisionValue = regexp.MustCompile(`^(?:[^@\s]+@sha1:)?([0-9a-f]{40})$`)

// requestedRevision is the commit a new promote annotation asks for.
func requestedRevision(obj *v1alpha1.AppSource) (string, bool) {
	v := obj.Annotations[v1alpha1.PromoteAnnotation]
	m := revisionValue.FindStringSubmatch(v)
	if m == nil || v == obj.Status.LastHandledPromoteAt {
		return "", false
	}
	return m[1], true
}

// promoteByRequest applies a commit of the followed ref that a person asked
// for, whatever the upstreams say; the request is recorded in the
// condition, an event and the history.
func (r *AppSourceReconciler) promoteByRequest(ctx context.Context, st *state, req source.Request, head source.Result, commit string) error {
	obj := st.obj
	obj.Status.LastHandledPromoteAt = obj.Annotations[v1alpha1.PromoteAnnotation]
	contained, err := r.Source.Contains(ctx, req, commit, head.Commit)
	if err != nil && !errors.Is(err, source.ErrRevisionNotFound) {
		return failed(sourceReason(err), fmt.Errorf("promote %s: %w", commit, err))
	}
	if !contained {
		return failed(v1alpha1.RevisionNotFoundReason,
			fmt.Errorf("promote %s: not a commit of %s at %s", commit, head.RefName, req.URL))
	}
	revision := withChart(st, head.RefName+"@sha1:"+commit)
	setCondition(obj, v1alpha1.PromotedCondition, metav1.ConditionTrue, v1alpha1.ManualPromotionReason,
		fmt.Sprintf("%s promoted by request (%s annotation), without waiting for %s", revision,
			v1alpha1.PromoteAnnotation, upstreamNames(obj)))
	r.event(obj, corev1.EventTypeNormal, v1alpha1.ManualPromotionReason, "promoting %s by request", revision)
	st.pin = revision
	if revision != head.Revision {
		obj.Status.PendingRevision = head.Revision
	}
	return nil
}

func upstreamNames(obj *v1alpha1.AppSource) string {
	var names []string
	for _, ref := range obj.Spec.Promotion.After {
		names = append(names, ref.Name)
	}
	return fmt.Sprint(names)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
