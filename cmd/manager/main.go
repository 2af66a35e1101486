// Command manager runs the Driftless controller.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/controllers"
	"github.com/driftless-dev/driftless/internal/render"
	"github.com/driftless-dev/driftless/internal/version"
)

func main() {
	render.MaybeServeSandbox() // when started as a render sandbox: render, exit
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}

// metricsOptions serves /metrics on addr: with secure, over HTTPS (a
// self-signed certificate) behind the API server's authentication and
// authorization, as kubebuilder's scaffold does.
func metricsOptions(addr string, secure bool) metricsserver.Options {
	if !secure {
		return metricsserver.Options{BindAddress: addr}
	}
	return metricsserver.Options{BindAddress: addr, SecureServing: true, FilterProvider: filters.WithAuthenticationAndAuthorization}
}

func run() error {
	c := controllers.DefaultConfig()
	var err error
	var (
		metricsAddr   = flag.String("metrics-bind-address", ":8443", "address of the Prometheus /metrics endpoint; 0 disables it")
		metricsSecure = flag.Bool("metrics-secure", true, "serve /metrics over HTTPS to callers the API server authenticates and authorizes (get on the non-resource URL /metrics, as the ClusterRole driftless-metrics-reader grants); false serves plain HTTP to anyone who can reach it")
		probeAddr     = flag.String("health-probe-bind-address", ":8081", "address of the /healthz and /readyz probes")
		pprofAddr     = flag.String("pprof-bind-address", "", "address of the Go profiler's /debug/pprof endpoints; empty disables them")
		leaderElect   = flag.Bool("leader-elect", false, "elect a leader, so only one of several replicas reconciles")
		leaderNS      = flag.String("leader-election-namespace", "", "namespace of the leader election Lease; empty means the pod's own")
		leaseDuration = flag.Duration("leader-election-lease-duration", 15*time.Second, "how long a leader's Lease holds without renewal: the longest a killed leader's work waits for another replica")
		renewDeadline = flag.Duration("leader-election-renew-deadline", 10*time.Second, "how long the leader keeps trying to renew its Lease before it stops reconciling and exits")
		retryPeriod   = flag.Duration("leader-election-retry-period", 2*time.Second, "how often replicas try to acquire or renew the Lease")
		showVersion   = flag.Bool("version", false, "print the version and exit")
		logLevel      = flag.String("log-level", "info", "log verbosity: debug, info or error")
		zapOpts       = zap.Options{TimeEncoder: zapcore.ISO8601TimeEncoder}
	)
	flag.IntVar(&c.MaxConcurrentReconciles, "concurrent", c.MaxConcurrentReconciles, "AppSources reconciled at once")
	flag.StringVar(&c.WorkDir, "work-dir", c.WorkDir, "folder for Git's cache and each reconcile's private checkout; checkouts left by an earlier run are removed at start")
	flag.StringVar(&c.WebhookAddr, "webhook-bind-address", c.WebhookAddr, "address of the push webhook receiver, served when --webhook-secret is set")
	flag.StringVar(&c.WebhookSecret, "webhook-secret", "", "namespace/name of a Secret whose keys <name>.<provider> hold the token of the receiver /hook/<name>")
	flag.StringVar(&c.Shard, "shard", "", "reconcile only the AppSources labelled "+v1alpha1.ShardLabel+" with this name, under a leader election Lease of its own; empty reconciles only the AppSources without the label")
	flag.BoolVar(&c.AllowCrossNamespaceRefs, "allow-cross-namespace-refs", false, "let an AppSource name AppSources of other namespaces in dependsOn and promotion.after")
	flag.StringVar(&c.DefaultServiceAccount, "default-service-account", "", "service account impersonated, in the AppSource's namespace, when an AppSource names none (multi-tenant lockdown)")
	flag.BoolVar(&c.APICompression, "kube-api-compression", false, "ask the API server to gzip its responses; off, as on a cluster's network inflating every watch event costs more CPU than the bytes save")
	flag.DurationVar(&c.Timeout, "reconcile-timeout", c.Timeout, "bound of one reconcile when an AppSource sets none")
	flag.Int64Var(&c.GitMaxFetchBytes, "git-max-fetch-bytes", c.GitMaxFetchBytes, "pack data one Git fetch may download; past it the fetch is LimitExceeded")
	flag.Int64Var(&c.GitMaxCheckoutBytes, "git-max-checkout-bytes", c.GitMaxCheckoutBytes, "file content one checkout may write; past it the fetch is LimitExceeded")
	flag.DurationVar(&c.RenderTimeout, "render-timeout", c.RenderTimeout, "wall-clock bound of one render, run in a child process; past it the render is killed and reported LimitExceeded")
	flag.DurationVar(&c.RenderCPUTime, "render-cpu-time", c.RenderCPUTime, "CPU-time bound of one render")
	flag.Int64Var(&c.RenderMemoryBytes, "render-memory-bytes", c.RenderMemoryBytes, "memory bound of one render's process (RLIMIT_DATA)")
	flag.IntVar(&c.RenderCacheSize, "render-cache-size", c.RenderCacheSize, "renders remembered by their inputs, so an unchanged input is never rendered twice; 0 renders every time")
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	if *showVersion {
		fmt.Println("manager", version.Get())
		return nil
	}
	// Only the fault tests set them; see controllers.Failpoints.
	if c.Failpoints, err = controllers.ParseFailpoints(os.Getenv("DRIFTLESS_FAILPOINTS")); err != nil {
		return err
	}
	level, err := zapcore.ParseLevel(*logLevel)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	zapOpts.Level = level
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	cfg, err := ctrl.GetConfig() // --kubeconfig, $KUBECONFIG, in-cluster or ~/.kube/config
	if err != nil {
		return err
	}
	cfg.UserAgent = userAgent()
	mgr, _, err := controllers.NewManager(cfg, c, ctrl.Options{
		Metrics:                 metricsOptions(*metricsAddr, *metricsSecure),
		HealthProbeBindAddress:  *probeAddr,
		PprofBindAddress:        *pprofAddr,
		LeaderElection:          *leaderElect,
		LeaderElectionID:        leaseName(c.Shard),
		LeaderElectionNamespace: *leaderNS,
		LeaseDuration:           leaseDuration,
		RenewDeadline:           renewDeadline,
		RetryPeriod:             retryPeriod,
		// Stop reconciling at once when the lease is lost, rather than after
		// the process has finished its shutdown.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return err
	}
	ctrl.Log.Info("starting manager", "version", version.Get().String())
	ctrl.Log.Info("configuration", "concurrent", c.MaxConcurrentReconciles, "leaderElect", *leaderElect, "shard", c.Shard)
	return mgr.Start(ctrl.SetupSignalHandler())
}

// leaseName is the leader election Lease of a shard: each shard elects its
// own leader.
func leaseName(shard string) string {
	if shard == "" {
		return "driftless-manager.deploy.driftless.dev"
	}
	return shard + ".driftless-manager.deploy.driftless.dev"
}

// userAgent names this replica in the API server's audit log: its version,
// and its host (the pod's name in a cluster) and process.
func userAgent() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("driftless-manager/%s (%s, pid %d)", version.Get().Version, host, os.Getpid())
}
