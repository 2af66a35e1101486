// Package controllers holds the AppSource reconciler: the only code that
// knows the API types, the client, events and conditions.
package controllers

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
	"github.com/driftless-dev/driftless/internal/health"
	"github.com/driftless-dev/driftless/internal/render"
	"github.com/driftless-dev/driftless/internal/render/helm/chartrepo"
	gitsource "github.com/driftless-dev/driftless/internal/source"
)

// AppSourceReconciler makes the cluster match each AppSource.
type AppSourceReconciler struct {
	client.Client

	// Live reads from the API server: an AppSource whose cached copy may
	// predate our own last write of it is read there (see memory.stale).
	Live client.Reader
	// Cache is the informer cache health is read from. It holds only the
	// objects labelled as ours, and the AppSources.
	Cache client.Reader
	// Refs reads the metadata of the service accounts AppSources name, and
	// of the Secrets and ConfigMaps labelled v1alpha1.WatchLabel, whoever
	// made them; a manager's is an informer cache of their metadata only.
	Refs cache.Cache
	// Mapper tells namespaced kinds from cluster-scoped ones, from discovery.
	Mapper meta.RESTMapper
	// Source fetches Git; one client, and so one cache, for every AppSource.
	Source *gitsource.Client
	// Charts resolves and downloads the charts of repositories; one client,
	// and so one download per chart version, for every AppSource.
	Charts *chartrepo.Client
	// Apply writes and prunes objects; it remembers what it applied.
	Apply *apply.Manager
	// RenderCache remembers renders by their inputs; nil renders every time.
	RenderCache *render.Cache
	// Sandbox runs each render in a bounded child process; nil renders in
	// this process.
	Sandbox *render.Sandbox
	// Recorder emits events; nil emits none.
	Recorder events.EventRecorder
	// WorkDir holds each reconcile's private checkout, removed when it ends.
	WorkDir string
	// Timeout bounds one reconcile when the AppSource sets none.
	Timeout time.Duration
	// MaxConcurrentReconciles bounds how many AppSources reconcile at once.
	MaxConcurrentReconciles int

	// Shard is the shard of AppSources this manager reconciles (see
	// Config.Shard).
	Shard string
	// AllowCrossNamespaceRefs lets dependsOn and promotion.after name
	// AppSources of other namespaces.
	AllowCrossNamespaceRefs bool
	// DefaultServiceAccount is impersonated, in the AppSource's namespace,
	// when an AppSource names none; empty applies as the manager itself.
	DefaultServiceAccount string
	// Failpoints make steps fail on purpose, for the fault tests; empty
	// in production.
	Failpoints Failpoints

	memory      memory                  // what is remembered of each AppSource: see memory
	pushes      chan event.GenericEvent // AppSources a webhook push asks to reconcile
	forwards    chan forwardedPush      // pushes for AppSources this replica does not queue
	elected     <-chan struct{}         // closed once this replica leads; nil leads always
	otherShards labels.Selector         // the AppSources of the other shards, which pushes are forwarded to
	health      health.Checker          // remembers each object's status by version
	clusterCaps *clusterCapabilities    // Helm's .Capabilities of the cluster
}

// The manager's own identity writes only AppSources, their status, events
// and its Lease; it reads what it caches. Every object an AppSource applies
// or prunes is written by impersonation of the AppSource's account.
// +kubebuilder:rbac:groups=deploy.driftless.dev,resources=appsources,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=deploy.driftless.dev,resources=appsources/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=deploy.driftless.dev,resources=appsources/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete,namespace=driftless-system
// +kubebuilder:rbac:groups=*,resources=*,verbs=get;list;watch

// SetupWithManager registers the reconciler with mgr. Workloads labelled as
// ours wake their AppSource when their status changes, so a rollout is
// followed as it happens rather than by polling.
func (r *AppSourceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	owner := handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.follow(e.Object, q)
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.follow(e.ObjectNew, q)
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.follow(e.Object, q)
		},
	}
	r.pushes = make(chan event.GenericEvent, 1024)
	r.forwards = make(chan forwardedPush, 1024)
	if err := mgr.Add(everyReplica(r.forwardPushes)); err != nil {
		return err
	}
	// Indexes, so that a change to a Secret, a ConfigMap or an AppSource
	// finds the AppSources that read or follow it without listing them all.
	ctx := context.Background()
	if err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.AppSource{}, referencesIndex, referenceKeys); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.AppSource{}, upstreamsIndex, upstreamKeys); err != nil {
		return err
	}
	// The colours' ReplicaSets, which health reads with their pods: cached
	// from the start, so that the first switch does not wait for a list.
	if _, err := mgr.GetCache().GetInformer(ctx, &appsv1.ReplicaSet{}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.AppSource{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&v1alpha1.AppSource{}, handler.EnqueueRequestsFromMapFunc(r.dependents)).
		// Metadata only, from the cache of references: no Secret data is
		// held, and the labelled cache stays labelled.
		WatchesRawSource(source.Kind(r.Refs, metadataOf("Secret"), handler.TypedEnqueueRequestsFromMapFunc(r.referencing("Secret")), changedSince)).
		WatchesRawSource(source.Kind(r.Refs, metadataOf("ConfigMap"), handler.TypedEnqueueRequestsFromMapFunc(r.referencing("ConfigMap")), changedSince)).
		// Unstructured, as health reads them: one informer per kind, so
		// that a wake never reads an older object than the one that woke it.
		Watches(workload("Deployment"), owner).
		Watches(workload("StatefulSet"), owner).
		Watches(workload("DaemonSet"), owner).
		// A colour's pods: a blue-green switch follows their readiness.
		Watches(&corev1.Pod{}, handler.Funcs{UpdateFunc: r.podBecameReady}).
		WatchesRawSource(source.Channel(r.pushes, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		WithLogConstructor(requestLogger(mgr.GetLogger().WithValues("controller", "appsource"))).
		Complete(r)
}

// requestLogger names the AppSource on every line of a reconcile, as
// controller-runtime's default does, in one call with plain strings: a
// reconcile that changes nothing should not spend more on its logger than
// on its work.
func requestLogger(log logr.Logger) func(*reconcile.Request) logr.Logger {
	return func(req *reconcile.Request) logr.Logger {
		if req == nil {
			return log
		}
		return log.WithValues("AppSource", req.String(), "namespace", req.Namespace, "name", req.Name)
	}
}

// changedSince passes the changes of Secrets and ConfigMaps, not the initial
// list of the cluster's: every AppSource is reconciled at start anyway.
var changedSince = predicate.TypedFuncs[*metav1.PartialObjectMetadata]{
	CreateFunc: func(e event.TypedCreateEvent[*metav1.PartialObjectMetadata]) bool { return !e.IsInInitialList },
}

// metadataOf is an empty core/v1 object of kind, for a metadata watch.
func metadataOf(kind string) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
	return m
}

// workload is an empty apps/v1 object of kind, for a watch.
func workload(kind string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind(kind))
	return u
}

// Reconcile runs fetch → decrypt → render → apply → prune → checkHealth for
// one AppSource and writes its status once, at the end.
func (r *AppSourceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	obj, err := r.read(ctx, req.NamespacedName)
	if apierrors.IsNotFound(err) {
		// Deleted, or moved to another shard: its series and memory go.
		r.memory.forget(req.NamespacedName)
		forgetMetrics(req.NamespacedName)
		return ctrl.Result{}, nil
	} else if err != nil {
		return ctrl.Result{}, err
	}
	if !obj.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, obj)
	}
	if controllerutil.AddFinalizer(obj, v1alpha1.Finalizer) {
		if err := r.Update(ctx, obj); err != nil {
			r.memory.writeFailed(req.NamespacedName)
			return ctrl.Result{}, err
		}
		r.memory.wrote(req.NamespacedName, obj.ResourceVersion)
	}
	st := &state{obj: obj, started: time.Now(), trigger: r.memory.trigger(obj)}
	st.snapshot()
	defer func() {
		if st.workDir != "" {
			os.RemoveAll(st.workDir) // the checkout never outlives the reconcile
		}
		// A panic is a failure of its step: without this the status writer
		// would see no error and mark a revision good that was never applied.
		if v := recover(); v != nil {
			err = panicked(ctx, st.step, v)
		}
		wrote := time.Now()
		result, err = r.writeStatus(ctx, st, err)
		st.took = append(st.took, stepTime{"status", time.Since(wrote)})
		if l := log.FromContext(ctx).V(1); l.Enabled() { // the steps' text only when it is logged
			l.Info("reconciled", "trigger", st.trigger, "revision", st.revision,
				"seconds", time.Since(st.started).Seconds(), "steps", stepTimes(st.took))
		}
		if st.trigger == "rollout" {
			r.memory.followed(req.NamespacedName, time.Since(st.started))
		}
	}()
	if obj.Spec.Suspend {
		return ctrl.Result{}, nil
	}
	// The status is written with ctx after the run; only the run is bounded.
	runCtx, cancel := context.WithTimeout(ctx, r.timeout(obj))
	defer cancel()
	steps := []step{
		r.timed("dependencies", r.checkDependencies), r.timed("held", r.checkHeld), r.timed("promotion", r.checkPromotion),
		r.timed("fetch", r.fetch), r.timed("decrypt", r.decrypt), r.timed("render", r.render), r.separateHooks, r.timed("plan", r.plan),
		r.timed("account", r.checkAccount), r.timed("apply", r.apply), r.timed("prune", r.prune), r.timed("health", r.checkHealth),
	}
	for _, s := range steps {
		if err := s(runCtx, st); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, nil
}

// read gets the AppSource from the cache, or from the API server when the
// cached copy may predate our last write: a reconcile that started from it
// would compute its status from an old one, and its status write would be
// refused.
func (r *AppSourceReconciler) read(ctx context.Context, key client.ObjectKey) (*v1alpha1.AppSource, error) {
	obj := &v1alpha1.AppSource{}
	if err := r.Get(ctx, key, obj); err != nil {
		return nil, err
	}
	if r.Live != nil && r.memory.stale(key, obj.ResourceVersion) {
		if err := r.Live.Get(ctx, key, obj); err != nil {
			return nil, err
		}
	}
	return obj, nil
}

// finalize prunes the inventory when prune is on (and orphans it
// otherwise), then lets the AppSource go.
func (r *AppSourceReconciler) finalize(ctx context.Context, obj *v1alpha1.AppSource) error {
	if !controllerutil.ContainsFinalizer(obj, v1alpha1.Finalizer) {
		return nil
	}
	if obj.Spec.PruneEnabled() && !obj.Spec.Suspend {
		// An account deleted with its namespace can delete nothing, and the
		// namespace's objects go with it: waiting would hold the namespace
		// forever.
		if sa := r.account(obj); sa != "" {
			if exists, err := r.accountExists(ctx, obj.Namespace, sa); err != nil {
				return fmt.Errorf("prune on deletion: read ServiceAccount/%s/%s: %w", obj.Namespace, sa, err)
			} else if !exists {
				r.event(obj, corev1.EventTypeWarning, v1alpha1.AccessDeniedReason,
					"ServiceAccount/%s/%s is gone: nothing is pruned, the inventory is left as it is", obj.Namespace, sa)
				return r.release(ctx, obj)
			}
		}
		if _, _, err := r.Apply.Prune(ctx, inventoryOf(obj), r.applyOptions(obj)); err != nil {
			return fmt.Errorf("prune on deletion: %w", err)
		}
	}
	return r.release(ctx, obj)
}

// release forgets an AppSource being deleted and removes its finalizer.
func (r *AppSourceReconciler) release(ctx context.Context, obj *v1alpha1.AppSource) error {
	r.memory.forget(client.ObjectKeyFromObject(obj))
	forgetMetrics(client.ObjectKeyFromObject(obj))
	controllerutil.RemoveFinalizer(obj, v1alpha1.Finalizer)
	return r.Update(ctx, obj)
}

func (r *AppSourceReconciler) timeout(obj *v1alpha1.AppSource) time.Duration {
	if obj.Spec.Timeout != nil {
		return obj.Spec.Timeout.Duration
	}
	return r.Timeout
}
