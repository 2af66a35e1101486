package apply

import (
	"context"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// live is the metadata of the objects about to be applied, by ID; an ID
// that is missing was not found, or could not be listed.
type live map[string]*metav1.PartialObjectMetadata

// readLive lists, once per kind and namespace, the metadata of the objects
// of objs. Kinds that cannot be listed (not served yet, or forbidden to the
// impersonated user) are left out: their objects will simply be applied.
func readLive(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) (live, error) {
	type scope struct {
		gvk       schema.GroupVersionKind
		namespace string
	}
	scopes := map[scope]bool{}
	for _, obj := range objs {
		scopes[scope{obj.GroupVersionKind(), obj.GetNamespace()}] = true
	}
	lists := make(map[scope]*metav1.PartialObjectMetadataList, len(scopes))
	errs := make(map[scope]error, len(scopes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for s := range scopes {
		// In parallel: a reconcile that changes nothing is mostly these lists.
		wg.Go(func() {
			list := &metav1.PartialObjectMetadataList{}
			list.SetGroupVersionKind(s.gvk)
			err := c.List(ctx, list, client.InNamespace(s.namespace))
			mu.Lock()
			defer mu.Unlock()
			lists[s], errs[s] = list, err
		})
	}
	wg.Wait()
	result := live{}
	for s, list := range lists {
		err := errs[s]
		if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) || meta.IsNoMatchError(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for i := range list.Items {
			item := &list.Items[i]
			result[idOf(item.Namespace, item.Name, s.gvk.GroupKind())] = item
		}
	}
	return result, nil
}

// scaledTargets returns the workloads that a HorizontalPodAutoscaler scales,
// among the HPAs of objs and those already in the cluster, as
// "namespace/Kind/name".
func scaledTargets(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) map[string]bool {
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
