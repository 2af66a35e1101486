package e2e

import (
	"context"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/controllers"
)

// startManager runs the AppSource controller until the test ends.
func startManager(t *testing.T) {
	t.Helper()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&controllers.AppSourceReconciler{Client: mgr.GetClient(), MaxConcurrentReconciles: 2}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
}

func TestManagerObservesGenerationWithoutClaimingReady(t *testing.T) {
	startManager(t)
	ns := newNamespace(t)
	obj := appSource("web", ns)
	if err := k8s.Create(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	observed := func(ctx context.Context) (bool, error) {
		if err := get(ctx, obj); err != nil {
			return false, err
		}
		return obj.Status.ObservedGeneration == obj.Generation, nil
	}
	eventually(t, 30*time.Second, "generation 1 observed", observed)

	obj.Spec.Source.Path = "deploy/overlays/staging"
	if err := k8s.Update(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "generation 2 observed", observed)
	if obj.Generation != 2 {
		t.Errorf("generation = %d, want 2", obj.Generation)
	}
	if apimeta.IsStatusConditionTrue(obj.Status.Conditions, v1alpha1.ReadyCondition) {
		t.Error("Ready=True although nothing was applied")
	}
}
