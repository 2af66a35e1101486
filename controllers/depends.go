package controllers

import (
	"context"
	"fmt"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"slices"
	"strings"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// checkDependencies waits until every AppSource of dependsOn is Ready at its
// current generation. A cycle is an error only a spec change can fix.
func (r *AppSourceReconciler) checkDependencies(ctx context.Context, st *state) error {
	if len(st.obj.Spec.DependsOn) == 0 {
		return nil
	}
	if cycle := r.findCycle(ctx, st.obj, dependsOn); cycle != "" {
		return stalled(v1alpha1.DependencyNotReadyReason, fmt.Errorf("dependsOn forms a cycle: %s", cycle))
	}
	for _, ref := range st.obj.Spec.DependsOn {
		key, err := r.dependencyKey(st.obj, ref)
		if err != nil {
			return err
		}
		dep, err := r.upstream(ctx, key)
		if err != nil {
			return waiting(v1alpha1.DependencyNotReadyReason, 30*time.Second, "dependency %v", err)
		}
		ready := apimeta.FindStatusCondition(dep.Status.Conditions, v1alpha1.ReadyCondition)
		if ready == nil || ready.Status != "True" || dep.Status.ObservedGeneration != dep.Generation {
			return waiting(v1alpha1.DependencyNotReadyReason, 30*time.Second, "dependency %s is not Ready", key)
		}
	}
	return nil
}

// dependencyKey resolves a reference; other namespaces need the operator's consent.
func (r *AppSourceReconciler) dependencyKey(obj *v1alpha1.AppSource, ref v1alpha1.AppSourceReference) (client.ObjectKey, error) {
	key := client.ObjectKey{Namespace: obj.Namespace, Name: ref.Name}
	if ref.Namespace != "" && ref.Namespace != obj.Namespace {
		if !r.AllowCrossNamespaceRefs {
			return key, stalled(v1alpha1.AccessDeniedReason,
				fmt.Errorf("AppSource %s/%s (dependsOn or promotion.after) is in another namespace, which the operator does not allow: see --allow-cross-namespace-refs", ref.Namespace, ref.Name))
		}
		key.Namespace = ref.Namespace
	}
	return key, nil
}

// upstream reads the AppSource key that another depends on or is promoted
// after; one this manager does not see is named as such.
func (r *AppSourceReconciler) upstream(ctx context.Context, key client.ObjectKey) (*v1alpha1.AppSource, error) {
	up := &v1alpha1.AppSource{}
	err := r.Get(ctx, key, up)
	switch {
	case apierrors.IsNotFound(err) && r.Shard != "":
		return nil, fmt.Errorf("AppSource %s not found in shard %q: dependsOn and promotion.after name AppSources of the same shard", key, r.Shard)
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("AppSource %s not found (an AppSource labelled %s belongs to that shard's manager)", key, v1alpha1.ShardLabel)
	case err != nil:
		return nil, fmt.Errorf("AppSource %s: %w", key, err)
	}
	return up, nil
}

// dependsOn and promotedAfter are the edges findCycle can follow.
func dependsOn(obj *v1alpha1.AppSource) []v1alpha1.AppSourceReference { return obj.Spec.DependsOn }

func promotedAfter(obj *v1alpha1.AppSource) []v1alpha1.AppSourceReference {
	if obj.Spec.Promotion == nil {
		return nil
	}
	return obj.Spec.Promotion.After
}

// findCycle follows edges from obj through the cache and returns the cycle
// back to obj as "a → b → a", or "".
func (r *AppSourceReconciler) findCycle(ctx context.Context, obj *v1alpha1.AppSource, edges func(*v1alpha1.AppSource) []v1alpha1.AppSourceReference) string {
	start := client.ObjectKeyFromObject(obj)
	var walk func(cur *v1alpha1.AppSource, path []string, seen map[client.ObjectKey]bool) string
	walk = func(cur *v1alpha1.AppSource, path []string, seen map[client.ObjectKey]bool) string {
		for _, ref := range edges(cur) {
			key, err := r.dependencyKey(cur, ref)
			if err != nil {
				continue
			}
			next := append(path, key.String())
			if key == start {
				return strings.Join(next, " → ")
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			dep := &v1alpha1.AppSource{}
			if r.Get(ctx, key, dep) == nil {
				if cycle := walk(dep, next, seen); cycle != "" {
					return cycle
				}
			}
		}
		return ""
	}
	return walk(obj, []string{start.String()}, map[client.ObjectKey]bool{})
}

// upstreamsIndex indexes AppSources by the "namespace/name" of each
// AppSource they depend on or are promoted after.
const upstreamsIndex = "driftless.upstreams"

func upstreamKeys(o client.Object) []string {
	obj := o.(*v1alpha1.AppSource)
	var keys []string
	for _, ref := range slices.Concat(dependsOn(obj), promotedAfter(obj)) {
		ns := ref.Namespace
		if ns == "" {
			ns = obj.Namespace
		}
		keys = append(keys, ns+"/"+ref.Name)
	}
	return keys
}

// dependents maps an AppSource to those that depend on it or are promoted
// after it, so that they continue the moment it becomes Ready or good.
func (r *AppSourceReconciler) dependents(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1alpha1.AppSourceList
	if err := r.List(ctx, &list, client.MatchingFields{upstreamsIndex: o.GetNamespace() + "/" + o.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	return r.woken(list.Items, byUpstream)
}
