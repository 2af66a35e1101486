package apply

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ScaleFieldManager owns spec.replicas of a workload scaled by Scale. The
// next apply of the same object, with forced conflicts, takes the field back.
const ScaleFieldManager = FieldManager + "-scaler"

// Scale sets spec.replicas of each object. It is not an apply: the rest of
// the object, and who owns it, stay as they are. Objects are scaled in
// order and the first failure stops.
func (m *Manager) Scale(ctx context.Context, entries []Entry, replicas int32, opts Options) error {
	c, err := m.client(opts.Impersonate)
	if err != nil {
		return err
	}
	patch := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas))
	for _, e := range entries {
		o, err := e.Parse()
		if err != nil {
			return err
		}
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(o.GroupVersionKind)
		obj.SetNamespace(o.Namespace)
		obj.SetName(o.Name)
		if err := c.Patch(ctx, obj, patch, client.FieldOwner(ScaleFieldManager)); err != nil {
			return &ObjectError{Object: o.String(), Err: fmt.Errorf("scale to %d: %w", replicas, err)}
		}
		// What we remember having applied is no longer what the object holds.
		m.forget(e.ID)
	}
	return nil
}
