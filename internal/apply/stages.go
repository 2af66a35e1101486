package apply

import (
	"context"
	"fmt"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var crdKind = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}

// prerequisite reports whether obj belongs to the first stage: what other
// objects need to exist before they can be applied.
func prerequisite(obj *unstructured.Unstructured) bool {
	gk := obj.GroupVersionKind().GroupKind()
	return gk == crdKind || gk == schema.GroupKind{Kind: "Namespace"}
}

// splitStages splits objs, keeping their order, into prerequisites and the rest.
func splitStages(objs []*unstructured.Unstructured) (first, rest []*unstructured.Unstructured) {
	for _, obj := range objs {
		if prerequisite(obj) {
			first = append(first, obj)
		} else {
			rest = append(rest, obj)
		}
	}
	return first, rest
}

// waitEstablished waits until the CRDs of objs are Established and their
// kinds are served.
func (m *Manager) waitEstablished(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, timeout time.Duration) error {
	for _, obj := range objs {
		if obj.GroupVersionKind().GroupKind() != crdKind {
			continue
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
			if err := c.Get(ctx, client.ObjectKey{Name: obj.GetName()}, crd); err != nil {
				return false, client.IgnoreNotFound(err)
			}
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return m.served(crd), nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("CustomResourceDefinition/%s not established: %w", obj.GetName(), err)
		}
	}
	return nil
}

// served reports whether the mapper knows every served version of crd's kind.
func (m *Manager) served(crd *apiextensionsv1.CustomResourceDefinition) bool {
	gk := schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind}
	for _, v := range crd.Spec.Versions {
		if v.Served {
			if _, err := m.mapper.RESTMapping(gk, v.Name); err != nil {
				return false
			}
		}
	}
	return true
}
