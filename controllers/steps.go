package controllers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
	"github.com/driftless-dev/driftless/internal/decrypt"
	"github.com/driftless-dev/driftless/internal/render"
	"github.com/driftless-dev/driftless/internal/source"
)

// state is what one reconcile learns, step by step.
type state struct {
	obj      *v1alpha1.AppSource
	before   *v1alpha1.AppSourceStatus // as last written: an unchanged status is not written again
	started  time.Time
	workDir  string // private to this reconcile; removed when it ends
	checkout string // workDir/checkout
	// keys decrypt instead of spec.decryption's Secret when set: the CLI's
	// offline build reads them from files.
	keys       *decrypt.Keys
	decryption *render.Decryption // with the keys, for the render
	revision   string             // of the fetched commit
	// pin is a revision to apply instead of the ref's head: the last good
	// one while the head is held after a failed rollout.
	pin  string
	held string // the head revision a failed rollout holds back

	blueGreen *blueGreen    // what plan learned, for a blue-green reconcile
	keep      []apply.Entry // inventory entries kept although not applied
	// leavingBlueGreen: the strategy changed to Rolling; the colours are
	// pruned once the rendered workloads are available.
	leavingBlueGreen bool
	recheck          time.Duration // look again this soon even when all is well
	// promotedSince is when the upstreams became good at the pinned
	// revision, when promotion let it through.
	promotedSince time.Time
	// trigger is what woke the reconcile (see wakes.trigger). One woken by
	// a workload's status only follows a rollout: the revision last applied
	// stands for the head, and an unchanged apply is skipped.
	trigger string
	step    string     // the step running now, named on a panic
	took    []stepTime // the steps run so far, for the debug log
	// refs are the Secrets and ConfigMaps this reconcile read (see readRef).
	refs map[objectRef]refRead

	chart       *chartPick                   // the chart version of a repository rendered, if any
	hooks       []hook                       // the render's Helm hooks, taken out of objects
	hookRelease string                       // names their release (see hookRelease)
	inputs      string                       // what the render depends on; see inputsKey
	cached      bool                         // objects come from the last render of the same inputs
	objects     []*unstructured.Unstructured // rendered, in apply order
	changes     apply.ChangeSet              // what this reconcile did
	applied     apply.ChangeSet              // the last apply of these objects, maybe by an earlier reconcile
	planned     string                       // what the strategy's plan chose, beside the inputs
	inventory   []apply.Entry                // what the cluster holds from us after apply and prune
}

// step is one stage of a reconcile; the first error stops the run.
type step func(ctx context.Context, st *state) error

// fetch checks out the AppSource's ref, or the pinned revision, into a
// private directory.
func (r *AppSourceReconciler) fetch(ctx context.Context, st *state) error {
	if r.followRollout(st) {
		return nil
	}
	if err := r.resolveChart(ctx, st); err != nil {
		return err
	}
	req, err := r.sourceRequest(ctx, st)
	if err != nil {
		return err
	}
	if st.pin != "" {
		req.Ref = source.Ref{Commit: commitOf(st.pin)}
	}
	head, reused := r.reuseRender(ctx, st, req)
	if reused {
		return nil
	}
	dir, err := os.MkdirTemp(r.WorkDir, "reconcile-")
	if err != nil {
		return err
	}
	st.workDir, st.checkout = dir, filepath.Join(dir, "checkout")
	start := time.Now()
	res, err := r.Source.FetchAt(ctx, req, head, st.checkout)
	gitFetchSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		return failed(sourceReason(err), err)
	}
	gitFetches.WithLabelValues(map[bool]string{true: "network", false: "cache"}[res.Fetched]).Inc()
	if st.pin == "" && head.Commit == "" {
		// Fetch asked Git for the head; a head given was remembered already.
		r.memory.putHead(client.ObjectKeyFromObject(st.obj), req, res)
	}
	st.revision, st.inputs = pinned(st, res.Revision), r.inputsKey(ctx, st, res.Commit)
	st.obj.Status.LastAttemptedRevision = st.revision
	return checkPath(st.checkout, pathOrRoot(st.obj.Spec.Source.Path), res.Revision)
}

// followRollout takes the render last applied for a reconcile that a
// workload's status woke: it follows the rollout of that apply, and asks
// neither Git nor the API server for its revision and inputs. A push, a
// change of input and the interval wake it otherwise (see memory.trigger).
// It must be quick: a blue-green switch waits on it.
func (r *AppSourceReconciler) followRollout(st *state) bool {
	if st.trigger != "rollout" || st.pin != "" {
		return false
	}
	rev, inputs, objs := r.memory.lastApplied(client.ObjectKeyFromObject(st.obj))
	if objs == nil {
		return false
	}
	gitFetches.WithLabelValues("reused").Inc()
	st.revision, st.inputs, st.objects, st.cached = rev, inputs, objs, true
	st.obj.Status.LastAttemptedRevision = rev
	return true
}

// sourceRequest is what to ask Git for, with the credentials of the
// AppSource's Secret.
func (r *AppSourceReconciler) sourceRequest(ctx context.Context, st *state) (source.Request, error) {
	git := st.obj.Spec.Source.Git
	req := source.Request{URL: git.URL, Ref: source.Ref{
		Branch: git.Ref.Branch, Tag: git.Ref.Tag, SemVer: git.Ref.SemVer, Commit: git.Ref.Commit,
	}}
	if git.SecretRef == nil {
		return req, nil
	}
	secret, err := r.secret(ctx, st, git.SecretRef.Name)
	if err != nil {
		return req, err
	}
	d := secret.Data
	req.Credentials = source.Credentials{
		Username: d["username"], Password: d["password"], BearerToken: d["bearerToken"], CAFile: d["caFile"],
		Identity: d["identity"], Passphrase: d["passphrase"], KnownHosts: d["known_hosts"],
	}
	return req, nil
}

// head asks Git which commit the AppSource's ref points at now (and the
// chart's repository which version its constraint selects).
func (r *AppSourceReconciler) head(ctx context.Context, st *state) (source.Request, source.Result, error) {
	req, err := r.sourceRequest(ctx, st)
	if err != nil {
		return req, source.Result{}, err
	}
	res, err := r.Source.Resolve(ctx, req)
	if err != nil {
		return req, res, failed(sourceReason(err), err)
	}
	if err := r.resolveChart(ctx, st); err != nil {
		return req, res, err
	}
	res.Revision = withChart(st, res.Revision)
	return req, res, nil
}

// pinned is the revision to report: a pinned fetch names the commit only,
// and the pin keeps the ref's name ("main@sha1:…"); with a chart of a
// repository, the chart version picked comes first ("web@1.4.2/main@sha1:…").
func pinned(st *state, fetched string) string {
	if st.pin != "" {
		fetched = st.pin
		if h := chartOf(st.obj); h != nil {
			fetched = gitRevisionOf(st.pin, h.Name)
		}
	}
	return withChart(st, fetched)
}

// commitOf is the commit hash of a revision such as "main@sha1:<hash>".
func commitOf(revision string) string {
	_, hash, _ := strings.Cut(revision, "sha1:")
	return hash
}

// checkPath fails when path is not a directory of the checkout. os.Root
// follows symlinks only while they stay inside the checkout.
func checkPath(checkout, path, revision string) error {
	root, err := os.OpenRoot(checkout)
	if err != nil {
		return err
	}
	defer root.Close()
	info, err := root.Stat(path)
	switch {
	// os.Root's escape error is unexported: its message is all there is.
	case err != nil && strings.Contains(err.Error(), "escapes from parent"):
		return stalled(v1alpha1.PathOutOfBoundsReason, fmt.Errorf("path %s leaves the repository at %s", path, revision))
	case err != nil:
		return failed(v1alpha1.PathInvalidReason, fmt.Errorf("path %s not found at %s", path, revision))
	case !info.IsDir():
		return failed(v1alpha1.PathInvalidReason, fmt.Errorf("path %s is not a directory at %s", path, revision))
	}
	return nil
}

// reuseRender takes the objects of the last render when the commit, the spec
// and the Secrets it read are the same. Only an AppSource with a remembered
// render resolves the head first; otherwise Fetch lists the refs itself.
// When it cannot reuse, it returns the head it resolved, for the fetch.
func (r *AppSourceReconciler) reuseRender(ctx context.Context, st *state, req source.Request) (source.Result, bool) {
	key := client.ObjectKeyFromObject(st.obj)
	if !r.memory.hasRender(key) {
		return source.Result{}, false
	}
	res, err := r.resolve(ctx, st, req)
	if err != nil {
		return source.Result{}, false
	}
	inputs := r.inputsKey(ctx, st, res.Commit)
	objs := r.memory.rendered(key, inputs)
	if inputs == "" || objs == nil {
		return res, false
	}
	gitFetches.WithLabelValues("reused").Inc()
	st.revision, st.inputs, st.objects, st.cached = pinned(st, res.Revision), inputs, objs, true
	st.obj.Status.LastAttemptedRevision = st.revision
	return res, true
}

// resolve asks Git for the head of the ref, unless the reconcile only
// follows a rollout of the revision last applied, or was woken by
// something other than Git less than half an interval after Git was last
// asked the same: the interval polls Git, and a push asks at once.
func (r *AppSourceReconciler) resolve(ctx context.Context, st *state, req source.Request) (source.Result, error) {
	key := client.ObjectKeyFromObject(st.obj)
	if st.pin != "" {
		return r.Source.Resolve(ctx, req) // a commit: nothing to ask
	}
	if st.trigger == "rollout" {
		if last := r.memory.appliedRevision(key); last != "" {
			if h := chartOf(st.obj); h != nil {
				last = gitRevisionOf(last, h.Name) // pinned adds the chart
			}
			return source.Result{Revision: last, Commit: commitOf(last)}, nil
		}
	}
	half := st.obj.Spec.Interval.Duration / 2
	if res, ok := r.memory.recentHead(key, req, half); ok && !asksGit(st.trigger) {
		return res, nil
	}
	// The interval's poll takes a listing of the repository that another
	// AppSource with the same credentials started less than half an
	// interval ago: one poll per repository per interval. A push, a request
	// and a spec change ask Git now.
	since := time.Now()
	if st.trigger == "interval" || !asksGit(st.trigger) {
		since = since.Add(-half)
	}
	res, err := r.Source.ResolveSince(ctx, req, since)
	if err == nil {
		r.memory.putHead(key, req, res)
	}
	return res, err
}

// apply applies the objects. On failure the inventory keeps both what was
// there and what was just created, so that nothing we created is orphaned.
func (r *AppSourceReconciler) apply(ctx context.Context, st *state) error {
	if err := r.preHooks(ctx, st); err != nil {
		return err
	}
	opts := r.applyOptions(st.obj)
	if err := apply.CheckIgnores(opts.Ignore); err != nil {
		return stalled(v1alpha1.InvalidSpecReason, fmt.Errorf("spec.ignore%w", err))
	}
	rendered := make([]apply.Entry, len(st.objects))
	for i, o := range st.objects {
		rendered[i] = apply.EntryFor(o)
	}
	key, fingerprint := client.ObjectKeyFromObject(st.obj), st.inputs+" "+st.planned
	// The objects last applied, and nobody changed them since: the drift
	// check is done, and nothing needs writing. A reconcile that a
	// workload's status woke does not check: the cache may not show the
	// other objects of that apply yet, and drift waits for the interval.
	last, same := r.memory.applied(key, fingerprint)
	if same && st.inputs != "" && (st.trigger == "rollout" || r.Apply.Untouched(ctx, st.objects)) {
		st.applied, st.changes, st.inventory = last, last.Unchanged(), union(rendered, st.keep)
		return nil
	}
	if err := r.recordIntent(ctx, st, rendered); err != nil {
		return err
	}
	changes, err := r.Apply.Apply(ctx, st.objects, opts)
	st.changes, st.applied = changes, changes
	if err != nil {
		r.memory.forgetApplied(key)
		st.inventory = union(inventoryOf(st.obj), entriesOf(changes))
		return failed(applyReason(err), fmt.Errorf("%s; %w", changes.Summary(), err))
	}
	r.memory.putApplied(key, appliedSet{revision: st.revision, inputs: st.inputs, fingerprint: fingerprint, changes: changes.WithoutObjects()})
	st.inventory = union(rendered, st.keep)
	return nil
}

// recordIntent adds to the status inventory, before anything is created,
// the objects the apply may create: a controller killed mid-apply must not
// leave objects that no inventory names, which prune could never remove.
func (r *AppSourceReconciler) recordIntent(ctx context.Context, st *state, rendered []apply.Entry) error {
	inventory := inventoryOf(st.obj)
	if len(apply.Stale(rendered, inventory)) == 0 {
		return nil
	}
	st.obj.Status.Inventory = toInventory(union(inventory, rendered))
	if err := r.patchStatus(ctx, st); err != nil {
		return fmt.Errorf("record the inventory before applying: %w", err)
	}
	return nil
}

// prune deletes what left Git; what could not be deleted stays in the inventory.
func (r *AppSourceReconciler) prune(ctx context.Context, st *state) error {
	if !st.obj.Spec.PruneEnabled() {
		return nil
	}
	stale, pending := holdProtected(st, apply.Stale(inventoryOf(st.obj), st.inventory))
	changes, kept, err := r.Apply.Prune(ctx, stale, r.applyOptions(st.obj))
	st.changes = append(st.changes, changes...)
	st.inventory = append(st.inventory, kept...)
	st.inventory = append(st.inventory, pending...)
	if p := st.obj.Status.PendingPrune; len(p) > 0 && !slices.Equal(p, st.before.PendingPrune) {
		r.event(st.obj, corev1.EventTypeWarning, v1alpha1.PruneAwaitingConfirmationReason, "%s", pendingPrune(st.obj))
	}
	if err != nil {
		return failed(v1alpha1.PruneFailedReason, err)
	}
	return nil
}

// holdProtected takes out of stale the entries of protected kinds (see
// apply.Protected) that nobody confirmed, and lists them in
// status.pendingPrune. A new value of the confirm-prune annotation confirms
// what the status listed when it was set, and nothing that left Git since.
func holdProtected(st *state, stale []apply.Entry) (prune, pending []apply.Entry) {
	status := &st.obj.Status
	shown := map[string]bool{}
	if v, ok := st.obj.Annotations[v1alpha1.ConfirmPruneAnnotation]; ok && v != status.LastHandledPruneConfirmation {
		for _, name := range st.before.PendingPrune {
			shown[name] = true
		}
		status.LastHandledPruneConfirmation = v
	}
	status.PendingPrune = nil
	for _, e := range stale {
		name := e.ID
		if obj, err := e.Parse(); err == nil {
			name = obj.String()
		}
		if !apply.Protected(e) || shown[name] {
			prune = append(prune, e)
			continue
		}
		pending = append(pending, e)
		status.PendingPrune = append(status.PendingPrune, name)
	}
	return prune, pending
}

// secret reads a Secret of the AppSource's own namespace (see readRef);
// no Secret data is kept beyond the reconcile. Read it, never change it.
func (r *AppSourceReconciler) secret(ctx context.Context, st *state, name string) (*corev1.Secret, error) {
	obj, err := r.readRef(ctx, st, objectRef{"Secret", name})
	if err != nil {
		return nil, failed(v1alpha1.AccessDeniedReason, fmt.Errorf("read Secret/%s/%s: %w", st.obj.Namespace, name, err))
	}
	return obj.(*corev1.Secret), nil
}

func pathOrRoot(p string) string {
	if p == "" {
		return "."
	}
	return p
}
