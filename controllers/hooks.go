package controllers

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
	"github.com/driftless-dev/driftless/internal/health"
)

// Helm hooks with their meaning. A rendered object annotated helm.sh/hook
// is a hook, not one of the release's objects: its pre-install or
// pre-upgrade hooks are applied in weight order, each weight once the one
// before it is done (a Job complete, anything else Current), before the
// release's other objects; its post-install or post-upgrade hooks once
// those are healthy. A hook that fails fails the release, and nothing
// after it is applied. helm.sh/hook-delete-policy is honoured
// (before-hook-creation when unset, as Helm does). Hooks are in no
// inventory: they are never pruned, as Helm never deletes them but by
// their policy. Other hooks (delete, rollback, test) are not run.
//
// Progress lives in the cluster, so no worker waits: each hook applied is
// annotated with its release, and a reconcile finds there what ran. The
// status records when a release's pre or post hooks all completed.

// Helm's hook annotations, and ours naming the release of a hook.
const (
	hookAnnotation        = "helm.sh/hook"
	hookWeightAnnotation  = "helm.sh/hook-weight"
	hookDeleteAnnotation  = "helm.sh/hook-delete-policy"
	hookReleaseAnnotation = "deploy.driftless.dev/hook-release"
	beforeHookCreation    = "before-hook-creation"
	hookSucceeded         = "hook-succeeded"
	hookFailed            = "hook-failed"
	hookPoll              = 2 * time.Second
	preInstall            = "pre-install"
	preUpgrade            = "pre-upgrade"
)

// hook is one rendered hook.
type hook struct {
	obj    *unstructured.Unstructured
	events []string
	weight int
	delete []string // delete policies
}

// separateHooks takes the hooks out of the rendered objects, and names
// their release from the render, before a strategy's plan changes it.
func (r *AppSourceReconciler) separateHooks(_ context.Context, st *state) error {
	st.objects, st.hooks = splitHooks(st.objects)
	if len(st.hooks) > 0 {
		st.hookRelease = hookRelease(st)
	}
	return nil
}

// splitHooks returns objs without their hooks, and the hooks that are run:
// those of install and upgrade.
func splitHooks(objs []*unstructured.Unstructured) (rest []*unstructured.Unstructured, hooks []hook) {
	for _, o := range objs {
		events, ok := o.GetAnnotations()[hookAnnotation]
		if !ok {
			rest = append(rest, o)
			continue
		}
		h := hook{obj: o, delete: []string{beforeHookCreation}}
		for e := range strings.SplitSeq(events, ",") {
			switch e = strings.TrimSpace(e); e {
			case preInstall, preUpgrade, "post-install", "post-upgrade":
				h.events = append(h.events, e)
			}
		}
		if len(h.events) == 0 {
			continue
		}
		h.weight, _ = strconv.Atoi(strings.TrimSpace(o.GetAnnotations()[hookWeightAnnotation]))
		if p := o.GetAnnotations()[hookDeleteAnnotation]; p != "" {
			h.delete = nil
			for policy := range strings.SplitSeq(p, ",") {
				h.delete = append(h.delete, strings.TrimSpace(policy))
			}
		}
		hooks = append(hooks, h)
	}
	if hooks == nil {
		return objs, nil // a remembered render is shared: not copied for nothing
	}
	return rest, hooks
}

// preHooks runs the release's pre-install hooks (when nothing was applied
// before it) or its pre-upgrade hooks, before its other objects are applied.
func (r *AppSourceReconciler) preHooks(ctx context.Context, st *state) error {
	hs := releaseHooks(st)
	if hs == nil || hs.PreDone {
		return nil
	}
	event := preUpgrade
	if hs.Install {
		event = preInstall
	}
	if err := r.runHooks(ctx, st, event, hs.Release); err != nil {
		return err
	}
	hs.PreDone = true
	return nil
}

// postHooks runs the release's post-install or post-upgrade hooks, once
// its objects are healthy.
func (r *AppSourceReconciler) postHooks(ctx context.Context, st *state) error {
	hs := releaseHooks(st)
	if hs == nil || hs.PostDone {
		return nil
	}
	event := "post-upgrade"
	if hs.Install {
		event = "post-install"
	}
	if err := r.runHooks(ctx, st, event, hs.Release); err != nil {
		return err
	}
	hs.PostDone = true
	return nil
}

// releaseHooks is the status of the hooks of the release rendered, nil
// when it has none to run. A held revision's reconciles re-apply the last
// good one, as the rollback did: they run no hook.
func releaseHooks(st *state) *v1alpha1.HooksStatus {
	if len(st.hooks) == 0 || st.held != "" {
		return nil
	}
	if hs := st.obj.Status.Hooks; hs != nil && hs.Release == st.hookRelease {
		return hs
	}
	st.obj.Status.Hooks = &v1alpha1.HooksStatus{Release: st.hookRelease, Install: st.obj.Status.LastAppliedRevision == ""}
	return st.obj.Status.Hooks
}

// runHooks runs the hooks of event: a waiting error while they run, a
// failed one when one failed, nil once all completed.
func (r *AppSourceReconciler) runHooks(ctx context.Context, st *state, event, release string) error {
	var hooks []hook
	for _, h := range st.hooks {
		if slices.Contains(h.events, event) {
			hooks = append(hooks, h)
		}
	}
	slices.SortStableFunc(hooks, func(a, b hook) int {
		return cmp.Or(cmp.Compare(a.weight, b.weight), cmp.Compare(a.obj.GetKind(), b.obj.GetKind()), cmp.Compare(a.obj.GetName(), b.obj.GetName()))
	})
	for start := 0; start < len(hooks); {
		end := start
		for end < len(hooks) && hooks[end].weight == hooks[start].weight {
			end++
		}
		pending, err := r.runHookGroup(ctx, st, event, release, hooks[start:end])
		if err != nil {
			return err
		}
		if pending != "" {
			return waiting(v1alpha1.ProgressingReason, hookPoll, "%s hooks of %s: waiting for %s", event, st.revision, pending)
		}
		start = end
	}
	return r.deleteHooks(ctx, st, hooks, hookSucceeded)
}

// runHookGroup applies the hooks of one weight that are not yet applied for
// this release, and names those still running ("" when all completed).
func (r *AppSourceReconciler) runHookGroup(ctx context.Context, st *state, event, release string, hooks []hook) (string, error) {
	var pending, applied []string
	var apply []*unstructured.Unstructured
	for _, h := range hooks {
		name := hookName(h.obj)
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(h.obj.GroupVersionKind())
		err := r.Live.Get(ctx, client.ObjectKey{Namespace: h.obj.GetNamespace(), Name: h.obj.GetName()}, live)
		switch {
		case apierrors.IsNotFound(err):
			apply = append(apply, withHookRelease(h.obj, release))
			applied, pending = append(applied, name), append(pending, name)
		case err != nil:
			return "", failed(v1alpha1.HookFailedReason, fmt.Errorf("%s hook %s: %w", event, name, err))
		case live.GetDeletionTimestamp() != nil:
			pending = append(pending, name+" (being deleted)")
		case live.GetAnnotations()[hookReleaseAnnotation] != release:
			// Of an earlier release: replaced, as Helm replaces it.
			if slices.Contains(h.delete, beforeHookCreation) {
				if err := r.deleteHook(ctx, st, live); err != nil {
					return "", err
				}
				pending = append(pending, name+" (the earlier release's, being deleted)")
				continue
			}
			apply = append(apply, withHookRelease(h.obj, release))
			applied, pending = append(applied, name), append(pending, name)
		default:
			res := hookStatus(live)
			switch res.Status {
			case health.Failed:
				if slices.Contains(h.delete, hookFailed) {
					if err := r.deleteHook(ctx, st, live); err != nil {
						return "", err
					}
				}
				return "", failed(v1alpha1.HookFailedReason, fmt.Errorf("%s hook %s of %s failed: %s; nothing after it is applied", event, name, st.revision, res.Message))
			case health.InProgress:
				pending = append(pending, name)
			}
		}
	}
	if len(apply) > 0 {
		if _, err := r.Apply.Apply(ctx, apply, r.applyOptions(st.obj)); err != nil {
			return "", failed(v1alpha1.HookFailedReason, fmt.Errorf("apply %s hooks: %w", event, err))
		}
		r.event(st.obj, corev1.EventTypeNormal, "HookApplied", "%s hooks of %s applied: %s", event, st.revision, strings.Join(applied, ", "))
	}
	return strings.Join(pending, ", "), nil
}

// hookStatus is whether a hook is done: a Job once it completed (kstatus
// calls a running Job Current), anything else once Current.
func hookStatus(live *unstructured.Unstructured) health.Result {
	ref := health.Ref{GroupVersionKind: live.GroupVersionKind(), Namespace: live.GetNamespace(), Name: live.GetName()}
	if ref.GroupVersionKind.GroupKind() != (schema.GroupKind{Group: "batch", Kind: "Job"}) {
		return health.Evaluate(ref, live)
	}
	conditions, _, _ := unstructured.NestedSlice(live.Object, "status", "conditions")
	for _, c := range conditions {
		c, _ := c.(map[string]any)
		if c["status"] != "True" {
			continue
		}
		switch c["type"] {
		case "Complete":
			return health.Result{Ref: ref, Status: health.Current, Message: "Job completed"}
		case "Failed":
			return health.Result{Ref: ref, Status: health.Failed, Message: fmt.Sprintf("Job failed: %v: %v", c["reason"], c["message"])}
		}
	}
	return health.Result{Ref: ref, Status: health.InProgress, Message: "Job running"}
}

// deleteHooks deletes the hooks whose policy names policy.
func (r *AppSourceReconciler) deleteHooks(ctx context.Context, st *state, hooks []hook, policy string) error {
	for _, h := range hooks {
		if slices.Contains(h.delete, policy) {
			if err := r.deleteHook(ctx, st, h.obj); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteHook deletes a hook as the AppSource's account, if it is ours.
func (r *AppSourceReconciler) deleteHook(ctx context.Context, st *state, obj *unstructured.Unstructured) error {
	if _, _, err := r.Apply.Prune(ctx, []apply.Entry{apply.EntryFor(obj)}, r.applyOptions(st.obj)); err != nil {
		return failed(v1alpha1.HookFailedReason, fmt.Errorf("delete hook %s: %w", hookName(obj), err))
	}
	return nil
}

// hookRelease names the release whose hooks run: its revision and a digest
// of its objects, hooks included, so that a new render is a new release.
func hookRelease(st *state) string {
	h := sha256.New()
	for _, objs := range [][]*unstructured.Unstructured{st.objects, hookObjects(st.hooks)} {
		for _, o := range objs {
			data, _ := o.MarshalJSON()
			h.Write(data)
		}
	}
	return st.revision + "@" + hex.EncodeToString(h.Sum(nil))[:12]
}

func hookObjects(hooks []hook) []*unstructured.Unstructured {
	objs := make([]*unstructured.Unstructured, len(hooks))
	for i, h := range hooks {
		objs[i] = h.obj
	}
	return objs
}

// withHookRelease is a copy of obj annotated with its release.
func withHookRelease(obj *unstructured.Unstructured, release string) *unstructured.Unstructured {
	c := obj.DeepCopy()
	a := c.GetAnnotations()
	a[hookReleaseAnnotation] = release
	c.SetAnnotations(a)
	return c
}

func hookName(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetKind() + "/" + obj.GetName()
	}
	return obj.GetKind() + "/" + obj.GetNamespace() + "/" + obj.GetName()
}
