package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
)

// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=impersonate

// account is the service account an AppSource's objects are written as:
// its spec.serviceAccountName, else the operator's default; "" writes as
// the manager itself, which only a manager run without a default does.
func (r *AppSourceReconciler) account(obj *v1alpha1.AppSource) string {
	if sa := obj.Spec.ServiceAccountName; sa != "" {
		return sa
	}
	return r.DefaultServiceAccount
}

// checkAccount makes sure the account exists before anything is written as
// it. Impersonation does not ask: a RoleBinding may name an account nobody
// created, and a tenant who creates it later would inherit what it grants.
// Without it the AppSource is AccessDenied and nothing is written, never as
// the manager instead.
func (r *AppSourceReconciler) checkAccount(ctx context.Context, st *state) error {
	sa := r.account(st.obj)
	if sa == "" {
		return nil
	}
	exists, err := r.accountExists(ctx, st.obj.Namespace, sa)
	if err != nil {
		return fmt.Errorf("read ServiceAccount/%s/%s: %w", st.obj.Namespace, sa, err)
	}
	if !exists {
		return failed(v1alpha1.AccessDeniedReason, fmt.Errorf(
			"ServiceAccount/%s/%s does not exist: objects are written only as the AppSource's own account; create it and bind it to what the AppSource may change, or name another in spec.serviceAccountName",
			st.obj.Namespace, sa))
	}
	return nil
}

// accountExists reads the account's metadata from the cache of references.
func (r *AppSourceReconciler) accountExists(ctx context.Context, ns, name string) (bool, error) {
	sa := &metav1.PartialObjectMetadata{}
	sa.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"))
	err := r.Refs.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sa)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

func (r *AppSourceReconciler) applyOptions(obj *v1alpha1.AppSource) apply.Options {
	opts := apply.DefaultOptions()
	opts.Owner = apply.Owner{Name: obj.Name, Namespace: obj.Namespace}
	if sa := r.account(obj); sa != "" {
		opts.Impersonate = "system:serviceaccount:" + obj.Namespace + ":" + sa
	}
	opts.Progress = r.Failpoints.progress()
	for _, rule := range obj.Spec.Ignore {
		ig := apply.Ignore{Paths: rule.Paths}
		if t := rule.Target; t != nil {
			ig.Group, ig.Version, ig.Kind, ig.Name, ig.Namespace = t.Group, t.Version, t.Kind, t.Name, t.Namespace
			ig.LabelSelector, ig.AnnotationSelector = t.LabelSelector, t.AnnotationSelector
		}
		opts.Ignore = append(opts.Ignore, ig)
	}
	return opts
}
