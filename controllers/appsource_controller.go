// Package controllers holds the AppSource reconciler: the only code that
// knows the API types, the client, events and conditions.
package controllers

import (
	"context"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// AppSourceReconciler makes the cluster match each AppSource.
type AppSourceReconciler struct {
	client.Client

	// MaxConcurrentReconciles bounds how many AppSources reconcile at once.
	MaxConcurrentReconciles int
}

// +kubebuilder:rbac:groups=deploy.driftless.dev,resources=appsources,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=deploy.driftless.dev,resources=appsources/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=deploy.driftless.dev,resources=appsources/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete

// SetupWithManager registers the reconciler with mgr.
func (r *AppSourceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.AppSource{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Complete(r)
}

// Reconcile observes the AppSource's generation. The pipeline that fetches,
// renders and applies (fetch → decrypt → render → plan → apply → prune →
// checkHealth → advance) is not wired in yet, so the AppSource is reported
// as Reconciling, never as Ready.
func (r *AppSourceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var obj v1alpha1.AppSource
	if err := r.Get(ctx, req.NamespacedName, &obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if obj.Status.ObservedGeneration == obj.Generation {
		return ctrl.Result{}, nil
	}
	patch := client.MergeFrom(obj.DeepCopy())
	obj.Status.ObservedGeneration = obj.Generation
	apimeta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{
		Type: v1alpha1.ReconcilingCondition, Status: metav1.ConditionTrue,
		Reason: v1alpha1.ProgressingReason, Message: "waiting for the reconcile pipeline, which this build does not have yet",
		ObservedGeneration: obj.Generation,
	})
	apimeta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{
		Type: v1alpha1.ReadyCondition, Status: metav1.ConditionUnknown,
		Reason: v1alpha1.ProgressingReason, Message: "not reconciled yet",
		ObservedGeneration: obj.Generation,
	})
	log.FromContext(ctx).V(1).Info("observed generation", "generation", obj.Generation)
	return ctrl.Result{}, r.Status().Patch(ctx, &obj, patch)
}
