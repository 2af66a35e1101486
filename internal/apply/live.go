package apply

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// readLive returns the live object want names, as r holds it; nil when
// there is none. A kind that cannot be read (not served yet, or forbidden to
// the impersonated user) reads as nil: the object is simply applied.
func readLive(ctx context.Context, r client.Reader, want *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	// Built as a map: SetGroupVersionKind copies and parses, and this runs
	// for every object of every drift check.
	have := &unstructured.Unstructured{Object: map[string]any{"apiVersion": want.GetAPIVersion(), "kind": want.GetKind()}}
	// Read only, never changed: a cache's own copy will do.
	err := r.Get(ctx, client.ObjectKeyFromObject(want), have, client.UnsafeDisableDeepCopy)
	switch {
	case apierrors.IsNotFound(err) || apierrors.IsForbidden(err) || meta.IsNoMatchError(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read live object: %w", err)
	}
	return have, nil
}

// Untouched reports whether every object of objs is live as the Manager's
// last apply of it left it: the same object, with the fields we manage
// unchanged, as its cache shows. A caller that knows objs are what it
// last applied (their inputs did not change) may then skip the apply: there
// is no drift to correct. It costs a cache lookup per object; without a
// cache it reports false.
func (m *Manager) Untouched(ctx context.Context, objs []*unstructured.Unstructured) bool {
	if m.cache == nil {
		return false
	}
	for _, obj := range objs {
		id := EntryFor(obj).ID
		prev, known := m.remembered(id)
		if !known {
			return false
		}
		have, err := readLive(ctx, m.cache, obj)
		if err != nil || have == nil || !m.leftAsApplied(id, prev, have) {
			return false
		}
	}
	return true
}

// leftAsApplied reports whether have is the object the Manager last applied
// as prev, with the fields we manage as that apply left them.
func (m *Manager) leftAsApplied(id string, prev record, have *unstructured.Unstructured) bool {
	switch {
	case string(have.GetUID()) != prev.uid:
		return false
	case have.GetResourceVersion() == prev.resourceVersion:
		return true
	case hashOwnedFields(have.GetManagedFields()) != prev.fields:
		return false
	}
	// Someone changed fields that are not ours, a status for example:
	// remember the version, so that the fields are compared once.
	prev.resourceVersion = have.GetResourceVersion()
	m.remember(id, prev)
	return true
}

// reader is where live objects are read: the cache, or else the API server
// through c.
func (m *Manager) reader(c client.Client) client.Reader {
	if m.cache != nil {
		return m.cache
	}
	return c
}

// scaledTargets returns the workloads that a HorizontalPodAutoscaler scales,
// among the HPAs of objs and those already in the cluster, as
// "namespace/Kind/name".
func scaledTargets(ctx context.Context, c client.Reader, objs []*unstructured.Unstructured) map[string]bool {
	targets := map[string]bool{}
	add := func(hpa *unstructured.Unstructured) {
		kind, _, _ := unstructured.NestedString(hpa.Object, "spec", "scaleTargetRef", "kind")
		name, _, _ := unstructured.NestedString(hpa.Object, "spec", "scaleTargetRef", "name")
		targets[hpa.GetNamespace()+"/"+kind+"/"+name] = true
	}
	namespaces := map[string]bool{}
	for _, obj := range objs {
		if obj.GetKind() == "HorizontalPodAutoscaler" {
			add(obj)
		}
		if scalable(obj) {
			namespaces[obj.GetNamespace()] = true
		}
	}
	for ns := range namespaces {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscalerList"})
		if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
			continue // no HPAs readable: nothing to leave alone
		}
		for i := range list.Items {
			add(&list.Items[i])
		}
	}
	return targets
}

func scalable(obj *unstructured.Unstructured) bool {
	switch obj.GroupVersionKind().GroupKind() {
	case schema.GroupKind{Group: "apps", Kind: "Deployment"},
		schema.GroupKind{Group: "apps", Kind: "StatefulSet"},
		schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}:
		return true
	}
	return false
}
