// Command manager runs the Driftless controller.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/controllers"
	"github.com/driftless-dev/driftless/internal/apply"
	"github.com/driftless-dev/driftless/internal/render"
	"github.com/driftless-dev/driftless/internal/source"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		metricsAddr    = flag.String("metrics-bind-address", ":8080", "address of the Prometheus /metrics endpoint; 0 disables it")
		probeAddr      = flag.String("health-probe-bind-address", ":8081", "address of the /healthz and /readyz probes")
		pprofAddr      = flag.String("pprof-bind-address", "", "address of the Go profiler's /debug/pprof endpoints; empty disables them")
		leaderElect    = flag.Bool("leader-elect", false, "elect a leader, so only one of several replicas reconciles")
		leaderNS       = flag.String("leader-election-namespace", "", "namespace of the leader election Lease; empty means the pod's own")
		concurrent     = flag.Int("concurrent", 4, "AppSources reconciled at once")
		logLevel       = flag.String("log-level", "info", "log verbosity: debug, info or error")
		workDir        = flag.String("work-dir", os.TempDir(), "folder for Git's cache and each reconcile's private checkout")
		webhookAddr    = flag.String("webhook-bind-address", ":9292", "address of the push webhook receiver, served when --webhook-secret is set")
		webhookSecret  = flag.String("webhook-secret", "", "namespace/name of a Secret whose keys <name>.<provider> hold the token of the receiver /hook/<name>")
		crossNamespace = flag.Bool("allow-cross-namespace-refs", false, "let dependsOn name AppSources of other namespaces")
		defaultSA      = flag.String("default-service-account", "", "service account impersonated, in the AppSource's namespace, when an AppSource names none (multi-tenant lockdown)")
		apiCompression = flag.Bool("kube-api-compression", false, "ask the API server to gzip its responses; off, as on a cluster's network inflating every watch event costs more CPU than the bytes save")
		timeout        = flag.Duration("reconcile-timeout", 5*time.Minute, "bound of one reconcile when an AppSource sets none")
		zapOpts        = zap.Options{TimeEncoder: zapcore.ISO8601TimeEncoder}
	)
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	level, err := zapcore.ParseLevel(*logLevel)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	zapOpts.Level = level
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig() // --kubeconfig, $KUBECONFIG, in-cluster or ~/.kube/config
	if err != nil {
		return err
	}
	cfg.DisableCompression = !*apiCompression
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: *metricsAddr},
		HealthProbeBindAddress:  *probeAddr,
		PprofBindAddress:        *pprofAddr,
		LeaderElection:          *leaderElect,
		LeaderElectionID:        "driftless-manager.deploy.driftless.dev",
		LeaderElectionNamespace: *leaderNS,
		// Stop reconciling at once when the lease is lost, rather than after
		// the process has finished its shutdown.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	sourceOpts := source.DefaultOptions()
	sourceOpts.CacheDir = filepath.Join(*workDir, "driftless-git")
	git, err := source.New(sourceOpts)
	if err != nil {
		return err
	}
	applier, err := apply.NewManager(cfg, mgr.GetCache())
	if err != nil {
		return err
	}
	checkouts := filepath.Join(*workDir, "driftless-checkouts")
	if err := os.MkdirAll(checkouts, 0o700); err != nil {
		return err
	}
	reconciler := &controllers.AppSourceReconciler{
		Client:                  mgr.GetClient(),
		Cache:                   mgr.GetCache(),
		Mapper:                  mgr.GetRESTMapper(),
		Source:                  git,
		Apply:                   applier,
		RenderCache:             render.NewCache(256),
		Recorder:                mgr.GetEventRecorder("driftless"),
		WorkDir:                 checkouts,
		Timeout:                 *timeout,
		MaxConcurrentReconciles: *concurrent,
		AllowCrossNamespaceRefs: *crossNamespace,
		DefaultServiceAccount:   *defaultSA,
	}
	if err := reconciler.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up the AppSource controller: %w", err)
	}
	if *webhookSecret != "" {
		if err := addWebhook(mgr, cfg, *webhookAddr, *webhookSecret, reconciler.OnPush); err != nil {
			return err
		}
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	ctrl.Log.Info("starting manager", "concurrent", *concurrent, "leaderElect", *leaderElect)
	return mgr.Start(ctrl.SetupSignalHandler())
}
