// Package harness runs the AppSource controller in-process for tests, wired
// as the manager binary wires it (controllers.NewManager), against a real
// API server.
package harness

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/driftless-dev/driftless/controllers"
)

// Options shape the manager a test runs.
type Options struct {
	Scheme *runtime.Scheme
	// Namespaces limits the manager's cache, and so what it reconciles;
	// empty means every namespace.
	Namespaces []string
	// Configure changes the shipped configuration before the manager is built.
	Configure []func(*controllers.Config)
}

// StartManager runs the controller until the test ends, or until stop is
// called; stop waits for the manager to return.
func StartManager(t testing.TB, cfg *rest.Config, opts Options) (r *controllers.AppSourceReconciler, stop func()) {
	t.Helper()
	mgrOpts := ctrl.Options{
		Scheme:                 opts.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)}, // one manager per test
	}
	if len(opts.Namespaces) > 0 {
		mgrOpts.Cache.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range opts.Namespaces {
			mgrOpts.Cache.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	c := controllers.DefaultConfig()
	c.WorkDir = t.TempDir()
	for _, configure := range opts.Configure {
		configure(&c)
	}
	mgr, r, err := controllers.NewManager(rest.CopyConfig(cfg), c, mgrOpts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	}
	t.Cleanup(stop)
	return r, stop
}
