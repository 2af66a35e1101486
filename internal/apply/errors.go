package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// OwnershipError: the object is labelled as applied by another AppSource.
type OwnershipError struct {
	Object                string
	Owner, OwnerNamespace string
}

func (e *OwnershipError) Error() string {
	return fmt.Sprintf("%s is applied by AppSource %s/%s", e.Object, e.OwnerNamespace, e.Owner)
}

// ImmutableFieldError: the apply changes a field the API server refuses to
// change; annotate the object deploy.driftless.dev/force: enabled to have it
// deleted and recreated.
type ImmutableFieldError struct {
	Object string
	Field  string
}

func (e *ImmutableFieldError) Error() string {
	return fmt.Sprintf("%s: field %s is immutable; annotate the object %s: enabled to recreate it", e.Object, e.Field, ForceAnnotation)
}

// ObjectError is any other failure to write or delete one object.
type ObjectError struct {
	Object string
	Err    error
}

func (e *ObjectError) Error() string { return e.Object + ": " + e.Err.Error() }
func (e *ObjectError) Unwrap() error { return e.Err }

// isImmutable reports an apply refused because it changes an immutable field.
func isImmutable(err error) bool {
	return apierrors.IsInvalid(err) && strings.Contains(err.Error(), "immutable")
}

// describeError names obj in err and, for Secrets, drops every value the API
// server may have echoed: only field paths and reasons remain.
func describeError(obj *unstructured.Unstructured, err error) error {
	name := Describe(obj)
	if isImmutable(err) {
		return &ImmutableFieldError{Object: name, Field: immutableField(err)}
	}
	if obj.GetKind() == "Secret" {
		err = redacted(err)
	}
	if meta.IsNoMatchError(err) {
		gvk := obj.GroupVersionKind()
		err = fmt.Errorf("the cluster serves no kind %s in %s: install its CustomResourceDefinition, or apply it from the same AppSource: %w",
			gvk.Kind, gvk.GroupVersion(), err)
	}
	return &ObjectError{Object: name, Err: err}
}

func immutableField(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Details != nil {
		for _, cause := range status.Status().Details.Causes {
			if strings.Contains(cause.Message, "immutable") {
				return cause.Field
			}
		}
	}
	return "(unknown)"
}

// redacted keeps an API error's reason and the fields it names, not its message.
func redacted(err error) error {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return errors.New("request failed (details withheld: the object is a Secret)")
	}
	s := status.Status()
	var fields []string
	if s.Details != nil {
		for _, cause := range s.Details.Causes {
			fields = append(fields, fmt.Sprintf("%s: %s", cause.Field, cause.Type))
		}
	}
	msg := fmt.Sprintf("%s (values withheld: the object is a Secret)", s.Reason)
	if len(fields) > 0 {
		msg += ": " + strings.Join(fields, ", ")
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: s.Status, Code: s.Code, Reason: s.Reason, Message: msg,
	}}
}

// recreate deletes the object of want, waits until it is gone and applies want.
func (m *Manager) recreate(ctx context.Context, c client.Client, want *unstructured.Unstructured, opts Options) (*unstructured.Unstructured, error) {
	old := &unstructured.Unstructured{}
	old.SetGroupVersionKind(want.GroupVersionKind())
	old.SetNamespace(want.GetNamespace())
	old.SetName(want.GetName())
	if err := c.Delete(ctx, old, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
		return nil, err
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, opts.WaitTimeout, true, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(old), old)
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if err != nil {
		return nil, fmt.Errorf("wait for deletion before recreate: %w", err)
	}
	applied := want.DeepCopy()
	return applied, c.Apply(ctx, client.ApplyConfigurationFromUnstructured(applied), client.FieldOwner(FieldManager), client.ForceOwnership)
}
