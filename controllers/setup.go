package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
	"github.com/driftless-dev/driftless/internal/health"
	"github.com/driftless-dev/driftless/internal/render"
	"github.com/driftless-dev/driftless/internal/render/helm/chartrepo"
	"github.com/driftless-dev/driftless/internal/source"
	"github.com/driftless-dev/driftless/internal/webhook"
)

// Config is what the controller is built from. The manager fills it from
// its flags; the test harness and the CLI start from DefaultConfig, so every
// test runs the shipped configuration.
type Config struct {
	// WorkDir holds Git's cache and each reconcile's private checkout.
	WorkDir string
	// Timeout bounds one reconcile when the AppSource sets none.
	Timeout time.Duration
	// MaxConcurrentReconciles bounds how many AppSources reconcile at once.
	MaxConcurrentReconciles int
	// AllowCrossNamespaceRefs lets an AppSource name AppSources of other
	// namespaces in dependsOn and promotion.after.
	AllowCrossNamespaceRefs bool
	// DefaultServiceAccount is impersonated, in the AppSource's namespace,
	// when an AppSource names none; empty applies as the manager itself.
	DefaultServiceAccount string
	// GitMaxFetchBytes and GitMaxCheckoutBytes bound the pack data one fetch
	// downloads and the file content one checkout writes.
	GitMaxFetchBytes    int64
	GitMaxCheckoutBytes int64
	// RenderCacheSize is how many renders are remembered by their inputs.
	RenderCacheSize int
	// RenderTimeout, RenderCPUTime and RenderMemoryBytes bound each render,
	// run in a child process of this program (see render.Sandbox): its main
	// must call render.MaybeServeSandbox first.
	RenderTimeout     time.Duration
	RenderCPUTime     time.Duration
	RenderMemoryBytes int64
	// APICompression asks the API server to gzip its responses; off, as on a
	// cluster's network inflating every watch event costs more CPU than the
	// bytes save.
	APICompression bool
	// WebhookAddr is where the push receiver listens, when WebhookSecret is set.
	WebhookAddr string
	// WebhookSecret is "namespace/name" of a Secret whose keys
	// "<name>.<provider>" hold the token of the receiver /hook/<name>.
	WebhookSecret string
	// Shard, when set, makes this manager reconcile only the AppSources
	// labelled ShardLabel=Shard; unset, only those without the label.
	Shard string
	// Failpoints make steps fail on purpose, for the fault tests.
	Failpoints Failpoints
	// Forgetful remembers nothing between reconciles, neither renders nor
	// what Git or an apply said: every reconcile does all its work. It holds
	// the invariant of the reconciler's memory (dropping it only costs work)
	// under test; $DRIFTLESS_FORGETFUL sets it.
	Forgetful bool
}

// DefaultConfig returns the configuration the manager ships with.
func DefaultConfig() Config {
	return Config{
		WorkDir:                 os.TempDir(),
		Timeout:                 5 * time.Minute,
		MaxConcurrentReconciles: 4,
		GitMaxFetchBytes:        source.DefaultOptions().MaxFetchBytes,
		GitMaxCheckoutBytes:     source.DefaultOptions().MaxCheckoutBytes,
		RenderCacheSize:         256,
		RenderTimeout:           2 * time.Minute,
		RenderCPUTime:           time.Minute,
		RenderMemoryBytes:       1 << 30,
		WebhookAddr:             ":9292",
		Forgetful:               os.Getenv("DRIFTLESS_FORGETFUL") != "",
	}
}

// NewScheme returns a scheme with the built-in kinds and AppSource.
func NewScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return scheme, nil
}

// NewManager builds a controller-runtime manager from opts (its scheme, when
// unset, from NewScheme) and registers the AppSource controller, its probes
// and, when configured, the push webhook receiver. It is the one place the
// controller is wired; restCfg is changed as c asks.
func NewManager(restCfg *rest.Config, c Config, opts ctrl.Options) (ctrl.Manager, *AppSourceReconciler, error) {
	if opts.Scheme == nil {
		scheme, err := NewScheme()
		if err != nil {
			return nil, nil, err
		}
		opts.Scheme = scheme
	}
	restCfg.DisableCompression = !c.APICompression
	watched := labels.SelectorFromSet(labels.Set{v1alpha1.WatchLabel: "enabled"})
	refsOpts := cache.Options{Scheme: opts.Scheme, DefaultNamespaces: opts.Cache.DefaultNamespaces,
		DefaultTransform: keepIdentity, ByObject: map[client.Object]cache.ByObject{
			metadataOf("Secret"): {Label: watched}, metadataOf("ConfigMap"): {Label: watched}}}
	inShard, otherShards, err := shardSelectors(c.Shard)
	if err != nil {
		return nil, nil, err
	}
	if err := cacheOnlyOurs(&opts, inShard); err != nil {
		return nil, nil, err
	}
	mgr, err := ctrl.NewManager(restCfg, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("create manager: %w", err)
	}
	refsOpts.HTTPClient, refsOpts.Mapper = mgr.GetHTTPClient(), mgr.GetRESTMapper()
	refs, err := cache.New(restCfg, refsOpts)
	if err != nil {
		return nil, nil, fmt.Errorf("create the cache of references: %w", err)
	}
	// In the manager's group of caches: started, and synced, before any
	// controller, on every replica and not only the leader.
	if err := mgr.Add(cacheRunnable{refs}); err != nil {
		return nil, nil, err
	}
	r, err := newReconciler(restCfg, mgr.GetCache(), c)
	if err != nil {
		return nil, nil, err
	}
	r.Client = mgr.GetClient()
	r.Live = mgr.GetAPIReader()
	r.Cache = mgr.GetCache()
	r.Refs = refs
	r.Mapper = mgr.GetRESTMapper()
	r.Recorder = mgr.GetEventRecorder("driftless")
	r.elected, r.otherShards = mgr.Elected(), otherShards
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, nil, fmt.Errorf("set up the AppSource controller: %w", err)
	}
	if c.WebhookSecret != "" {
		if err := addWebhook(mgr, c.WebhookAddr, c.WebhookSecret, r.OnPush); err != nil {
			return nil, nil, err
		}
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, nil, err
	}
	if err := mgr.AddReadyzCheck("caches", cachesSynced(mgr.GetCache(), refs)); err != nil {
		return nil, nil, err
	}
	if opts.LeaderElection {
		if err := mgr.AddReadyzCheck("leader", leaderKnown(mgr, opts)); err != nil {
			return nil, nil, err
		}
	}
	return mgr, r, nil
}

// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// cachesSynced is ready once every informer of the caches has synced.
func cachesSynced(caches ...cache.Cache) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		for _, c := range caches {
			if !c.WaitForCacheSync(ctx) {
				return errors.New("caches not synced yet")
			}
		}
		return nil
	}
}

// leaderKnown is ready on the leader, and on another replica once the
// Lease names a holder that renewed it within its duration.
func leaderKnown(mgr ctrl.Manager, opts ctrl.Options) healthz.Checker {
	ns := opts.LeaderElectionNamespace
	if ns == "" {
		// The pod's own namespace, as controller-runtime finds it.
		data, _ := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
		ns = strings.TrimSpace(string(data))
	}
	duration := 15 * time.Second
	if opts.LeaseDuration != nil {
		duration = *opts.LeaseDuration
	}
	return func(req *http.Request) error {
		select {
		case <-mgr.Elected():
			return nil
		default:
		}
		lease := &coordinationv1.Lease{}
		if err := mgr.GetAPIReader().Get(req.Context(), client.ObjectKey{Namespace: ns, Name: opts.LeaderElectionID}, lease); err != nil {
			return fmt.Errorf("read the leader's Lease: %w", err)
		}
		s := lease.Spec
		if s.HolderIdentity == nil || *s.HolderIdentity == "" || s.RenewTime == nil || time.Since(s.RenewTime.Time) > duration {
			return errors.New("no leader holds the Lease")
		}
		return nil
	}
}

// cacheRunnable is a cache the manager runs as it runs its own.
type cacheRunnable struct{ cache.Cache }

// GetCache makes the manager start c with its caches.
func (c cacheRunnable) GetCache() cache.Cache { return c.Cache }

// shardSelectors select the AppSources of shard (those labelled with it or,
// for the unsharded manager, those without the label) and those of every
// other shard (!= also matches the unlabelled).
func shardSelectors(shard string) (ours, others labels.Selector, err error) {
	in, out, values := selection.Equals, selection.NotEquals, []string{shard}
	if shard == "" {
		in, out, values = selection.DoesNotExist, selection.Exists, nil
	} else if errs := validation.IsDNS1123Label(shard); len(errs) > 0 {
		// It also names the shard's Lease.
		return nil, nil, fmt.Errorf("shard %q: %s", shard, strings.Join(errs, "; "))
	}
	inReq, err := labels.NewRequirement(v1alpha1.ShardLabel, in, values)
	if err != nil {
		return nil, nil, fmt.Errorf("shard %q: %w", shard, err)
	}
	outReq, err := labels.NewRequirement(v1alpha1.ShardLabel, out, values)
	if err != nil {
		return nil, nil, fmt.Errorf("shard %q: %w", shard, err)
	}
	return labels.NewSelector().Add(*inReq), labels.NewSelector().Add(*outReq), nil
}

// dropManagedFields drops what the cache never reads and costs the most.
func dropManagedFields(obj any) (any, error) {
	if o, ok := obj.(metav1.Object); ok {
		o.SetManagedFields(nil)
	}
	return obj, nil
}

// keepIdentity keeps of an object in the cache of references only what
// names it: a change wakes the AppSources that read it by namespace and
// name, and an account only needs to exist. The cluster's Secrets and
// ConfigMaps then cost a few hundred bytes each.
func keepIdentity(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	m.ObjectMeta = metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion}
	return m, nil
}

// cacheOnlyOurs makes the manager's cache hold only what it must, so that
// its memory does not grow with the cluster's unrelated objects: objects
// labelled as ours (what AppSources applied), the AppSources of its shard,
// and all HorizontalPodAutoscalers (few, and one of someone else's may scale what we
// apply). Applied ConfigMaps and Secrets are cached without their content;
// those a reconcile reads are read from the API server when it needs them,
// never cached: only their metadata is watched, in the cache of references.
func cacheOnlyOurs(opts *ctrl.Options, inShard labels.Selector) error {
	ours, err := labels.NewRequirement(v1alpha1.NameLabel, selection.Exists, nil)
	if err != nil {
		return err
	}
	opts.Cache.DefaultLabelSelector = labels.NewSelector().Add(*ours)
	if opts.Cache.ByObject == nil {
		opts.Cache.ByObject = map[client.Object]cache.ByObject{}
	}
	// Applied ConfigMaps and Secrets are cached without their content.
	opts.Cache.DefaultTransform = func(obj any) (any, error) {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			apply.DropContent(u)
		}
		return obj, nil
	}
	opts.Cache.ByObject[&v1alpha1.AppSource{}] = cache.ByObject{Label: inShard}
	opts.Cache.ByObject[&autoscalingv2.HorizontalPodAutoscaler{}] = cache.ByObject{Label: labels.Everything()}
	// The blue-green colours' ReplicaSets and pods, which carry the colour
	// label of their template and none of ours: health judges a colour by
	// them (see health.Ref.ByPods).
	colored, err := labels.NewRequirement(v1alpha1.ColorLabel, selection.Exists, nil)
	if err != nil {
		return err
	}
	opts.Cache.ByObject[&appsv1.ReplicaSet{}] = cache.ByObject{Label: labels.NewSelector().Add(*colored), Transform: dropManagedFields}
	opts.Cache.ByObject[&corev1.Pod{}] = cache.ByObject{Label: labels.NewSelector().Add(*colored), Transform: health.SlimPod}
	if opts.Client.Cache == nil {
		opts.Client.Cache = &client.CacheOptions{}
	}
	opts.Client.Cache.DisableFor = append(opts.Client.Cache.DisableFor, &corev1.Secret{}, &corev1.ConfigMap{})
	return nil
}

// NewStandalone builds the reconciler the CLI runs for builds and diffs: the
// manager's parts, reading the cluster through cl directly, applying nothing.
// With a nil cl it builds offline, from a local directory only.
func NewStandalone(restCfg *rest.Config, cl client.Client, c Config) (*AppSourceReconciler, error) {
	if cl == nil {
		sandbox, err := c.sandbox()
		if err != nil {
			return nil, err
		}
		charts, err := chartrepo.NewClient(chartrepo.DefaultOptions()) // a cache in the temporary directory
		if err != nil {
			return nil, err
		}
		return &AppSourceReconciler{WorkDir: c.WorkDir, Timeout: c.Timeout, Sandbox: sandbox, Charts: charts}, nil
	}
	r, err := newReconciler(restCfg, nil, c)
	if err != nil {
		return nil, err
	}
	// The cluster itself stands for the informer cache: the blue-green plan
	// reads which colour serves.
	r.Client, r.Live, r.Cache, r.Mapper = cl, cl, cl, cl.RESTMapper()
	return r, nil
}

// newReconciler builds the parts that do not depend on a manager. The
// per-reconcile checkouts left by a process that was killed hold decrypted
// files: they are removed before anything starts.
func newReconciler(restCfg *rest.Config, cache client.Reader, c Config) (*AppSourceReconciler, error) {
	gitOpts := source.DefaultOptions()
	gitOpts.CacheDir = filepath.Join(c.WorkDir, "driftless-git")
	gitOpts.MaxFetchBytes, gitOpts.MaxCheckoutBytes = c.GitMaxFetchBytes, c.GitMaxCheckoutBytes
	git, err := source.New(gitOpts)
	if err != nil {
		return nil, err
	}
	applier, err := apply.NewManager(restCfg, cache)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(restCfg)
	if err != nil {
		return nil, err
	}
	chartOpts := chartrepo.DefaultOptions()
	chartOpts.CacheDir = filepath.Join(c.WorkDir, "driftless-charts")
	charts, err := chartrepo.NewClient(chartOpts)
	if err != nil {
		return nil, err
	}
	checkouts := filepath.Join(c.WorkDir, "driftless-checkouts")
	if err := os.RemoveAll(checkouts); err != nil {
		return nil, fmt.Errorf("remove the checkouts of an earlier run: %w", err)
	}
	if err := os.MkdirAll(checkouts, 0o700); err != nil {
		return nil, err
	}
	r := &AppSourceReconciler{
		Source:                  git,
		Charts:                  charts,
		Apply:                   applier,
		WorkDir:                 checkouts,
		Timeout:                 c.Timeout,
		MaxConcurrentReconciles: c.MaxConcurrentReconciles,
		AllowCrossNamespaceRefs: c.AllowCrossNamespaceRefs,
		Shard:                   c.Shard,
		DefaultServiceAccount:   c.DefaultServiceAccount,
		Failpoints:              c.Failpoints,
		clusterCaps:             &clusterCapabilities{discovery: dc},
	}
	r.memory.forgetful = c.Forgetful
	if c.RenderCacheSize > 0 && !c.Forgetful {
		r.RenderCache = render.NewCache(c.RenderCacheSize)
	}
	if r.Sandbox, err = c.sandbox(); err != nil {
		return nil, err
	}
	return r, nil
}

// sandbox is the render sandbox of this executable with c's bounds.
func (c Config) sandbox() (*render.Sandbox, error) {
	s, err := render.DefaultSandbox()
	if err != nil {
		return nil, err
	}
	s.Timeout, s.CPUTime, s.MemoryBytes = c.RenderTimeout, c.RenderCPUTime, c.RenderMemoryBytes
	return s, nil
}

// receivers reads the webhook receivers from a Secret named "namespace/name":
// each key "<name>.<provider>" (provider github, gitlab, gitea or generic)
// holds the shared token of the endpoint /hook/<name>.
func receivers(ctx context.Context, c client.Reader, ref string) ([]webhook.Receiver, error) {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok {
		return nil, fmt.Errorf("--webhook-secret %q: want namespace/name", ref)
	}
	secret := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, secret); err != nil {
		return nil, fmt.Errorf("read webhook Secret %s: %w", ref, err)
	}
	var out []webhook.Receiver
	for key, token := range secret.Data {
		receiver, provider, ok := strings.Cut(key, ".")
		if !ok {
			return nil, fmt.Errorf("webhook Secret %s: key %q: want <name>.<provider>", ref, key)
		}
		out = append(out, webhook.Receiver{Name: receiver, Provider: webhook.Provider(provider), Secret: token})
	}
	return out, nil
}

// addWebhook serves the receivers of secretRef on addr while mgr runs.
func addWebhook(mgr manager.Manager, addr, secretRef string, notify func(webhook.Push)) error {
	list, err := receivers(context.Background(), mgr.GetAPIReader(), secretRef)
	if err != nil {
		return err
	}
	h, err := webhook.NewHandler(webhook.DefaultOptions(), list, notify)
	if err != nil {
		return err
	}
	srv := webhook.NewServer(addr, h)
	// On every replica, not only the leader: a Service may route a push to
	// any of them (see OnPush).
	return mgr.Add(everyReplica(func(ctx context.Context) error {
		go func() {
			<-ctx.Done()
			_ = srv.Shutdown(context.Background())
		}()
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("webhook receiver: %w", err)
		}
		return nil
	}))
}

// everyReplica is a runnable that runs whether or not this replica leads.
type everyReplica func(ctx context.Context) error

func (f everyReplica) Start(ctx context.Context) error { return f(ctx) }

// NeedLeaderElection tells the manager to start it on every replica.
func (everyReplica) NeedLeaderElection() bool { return false }
