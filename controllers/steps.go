package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

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
	step    string // the step running now, named on a panic
	// refs are the Secrets and ConfigMaps this reconcile read (see readRef).
	refs map[objectRef]refRead

	inputs    string                       // what the render depends on; see inputsKey
	cached    bool                         // objects come from the last render of the same inputs
	objects   []*unstructured.Unstructured // rendered, in apply order
	changes   apply.ChangeSet              // what this reconcile did
	applied   apply.ChangeSet              // the last apply of these objects, maybe by an earlier reconcile
	planned   string                       // what the strategy's plan chose, beside the inputs
	inventory []apply.Entry                // what the cluster holds from us after apply and prune
}

// step is one stage of a reconcile; the first error stops the run.
type step func(ctx context.Context, st *state) error

// fetch checks out the AppSource's ref, or the pinned revision, into a
// private directory.
func (r *AppSourceReconciler) fetch(ctx context.Context, st *state) error {
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

// head asks Git which commit the AppSource's ref points at now.
func (r *AppSourceReconciler) head(ctx context.Context, st *state) (source.Request, source.Result, error) {
	req, err := r.sourceRequest(ctx, st)
	if err != nil {
		return req, source.Result{}, err
	}
	res, err := r.Source.Resolve(ctx, req)
	if err != nil {
		return req, res, failed(sourceReason(err), err)
	}
	return req, res, nil
}

// pinned is the revision to report: a pinned fetch names the commit only,
// and the pin keeps the ref's name ("main@sha1:…").
func pinned(st *state, fetched string) string {
	if st.pin != "" {
		return st.pin
	}
	return fetched
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

// decrypt readies the AppSource's keys for the render, which decrypts each
// SOPS file as it reads it, wherever it is in the checkout: a file the
// render never reads needs no key. Without keys configured, an encrypted
// file read is an error naming it: ciphertext is never applied.
func (r *AppSourceReconciler) decrypt(ctx context.Context, st *state) error {
	if st.cached {
		return nil
	}
	opts := decrypt.DefaultOptions()
	if st.keys != nil {
		opts.Keys = *st.keys
	} else {
		keys, err := r.decryptionKeys(ctx, st)
		if err != nil {
			return err
		}
		opts.Keys = keys
	}
	d, err := decrypt.NewDecrypter(opts)
	if err != nil {
		return failed(v1alpha1.DecryptionFailedReason, err)
	}
	st.decryption = &render.Decryption{ID: opts.Keys.ID(), File: func(ctx context.Context, name string, data []byte) ([]byte, bool, error) {
		plain, format, err := d.File(ctx, name, data)
		return plain, format != "", err
	}}
	return nil
}

// decryptionKeys reads the *.agekey and *.asc entries of the Secret that
// spec.decryption names; none when it names none.
func (r *AppSourceReconciler) decryptionKeys(ctx context.Context, st *state) (decrypt.Keys, error) {
	var keys decrypt.Keys
	d := st.obj.Spec.Decryption
	if d == nil {
		return keys, nil
	}
	secret, err := r.secret(ctx, st, d.SecretRef.Name)
	if err != nil {
		return keys, err
	}
	// Sorted, so that key numbers in messages are the same every run.
	for _, name := range slices.Sorted(maps.Keys(secret.Data)) {
		switch {
		case strings.HasSuffix(name, ".agekey"):
			keys.Age = append(keys.Age, secret.Data[name])
		case strings.HasSuffix(name, ".asc"):
			keys.PGP = append(keys.PGP, secret.Data[name])
		}
	}
	return keys, nil
}

// render turns the path into objects, refusing any still encrypted.
func (r *AppSourceReconciler) render(ctx context.Context, st *state) error {
	if st.cached {
		return nil
	}
	opts, err := r.renderOptions(ctx, st)
	if err != nil {
		return err
	}
	objs, err := render.Render(ctx, opts)
	var fileErr *decrypt.FileError
	switch {
	case errors.As(err, &fileErr):
		return failed(decryptReason(err), err)
	case err != nil:
		return failed(renderReason(err), err)
	}
	if len(objs) == 0 {
		// An empty render is never "delete everything".
		return failed(v1alpha1.BuildFailedReason, fmt.Errorf("%s renders no objects", pathOrRoot(st.obj.Spec.Source.Path)))
	}
	contents := make([]map[string]any, len(objs))
	for i, o := range objs {
		contents[i] = o.Object
	}
	if err := decrypt.Guard(contents); err != nil {
		return failed(v1alpha1.DecryptionFailedReason, err)
	}
	st.objects = objs
	if st.inputs != "" {
		r.memory.putRender(client.ObjectKeyFromObject(st.obj), st.inputs, objs)
	}
	return nil
}

func (r *AppSourceReconciler) renderOptions(ctx context.Context, st *state) (render.Options, error) {
	spec := st.obj.Spec
	opts := render.Options{Root: st.checkout, Path: spec.Source.Path, TargetNamespace: spec.TargetNamespace, Cache: r.RenderCache, Sandbox: r.Sandbox, Decryption: st.decryption,
		// A chart found without spec.render.helm is released under the AppSource's name too.
		Helm: render.HelmOptions{ReleaseName: st.obj.Name, Namespace: spec.TargetNamespace, CRDAnnotations: chartCRDAnnotations("")}}
	if r.Mapper != nil {
		opts.IsNamespaced = r.isNamespaced
	}
	caps, _, err := r.clusterCaps.get()
	if err != nil {
		return opts, err
	}
	opts.Capabilities = caps
	if spec.Render == nil {
		return opts, nil
	}
	if k := spec.Render.Kustomize; k != nil {
		opts.Engine, opts.PostBuild = render.Kustomize, postBuild(k.PostBuild)
		vars, err := r.variables(ctx, st, k)
		if err != nil {
			return opts, err
		}
		opts.Substitute = vars
	}
	h := spec.Render.Helm
	if h == nil {
		return opts, nil
	}
	opts.Engine = render.Helm
	if h.PostRender != nil {
		opts.PostBuild = postBuild(*h.PostRender)
	}
	opts.Helm.ValuesFiles = h.ValuesFiles
	opts.Helm.SkipCRDs, opts.Helm.CRDAnnotations = h.CRDs == v1alpha1.CRDsSkip, chartCRDAnnotations(h.CRDs)
	if h.ReleaseName != "" {
		opts.Helm.ReleaseName = h.ReleaseName
	}
	for _, ref := range h.ValuesFrom {
		doc, err := r.valuesFrom(ctx, st, ref)
		if err != nil {
			return opts, err
		}
		if doc != nil {
			opts.Helm.ValuesFrom = append(opts.Helm.ValuesFrom, *doc)
		}
	}
	if h.Values != nil && len(h.Values.Raw) > 0 {
		if err := yaml.Unmarshal(h.Values.Raw, &opts.Helm.Values); err != nil {
			return opts, stalled(v1alpha1.InvalidSpecReason, fmt.Errorf("spec.render.helm.values: %w", err))
		}
	}
	return opts, nil
}

// postBuild maps the spec's names, metadata, patches and images to the
// render's.
func postBuild(p v1alpha1.PostBuild) render.PostBuild {
	out := render.PostBuild{NamePrefix: p.NamePrefix, NameSuffix: p.NameSuffix}
	if m := p.CommonMetadata; m != nil {
		out.Labels, out.Annotations = m.Labels, m.Annotations
	}
	for _, patch := range p.Patches {
		rp := render.Patch{Patch: patch.Patch}
		if t := patch.Target; t != nil {
			rp.Target = &render.PatchTarget{Group: t.Group, Version: t.Version, Kind: t.Kind, Name: t.Name, Namespace: t.Namespace,
				LabelSelector: t.LabelSelector, AnnotationSelector: t.AnnotationSelector}
		}
		out.Patches = append(out.Patches, rp)
	}
	for _, img := range p.Images {
		out.Images = append(out.Images, render.Image{Name: img.Name, NewName: img.NewName, NewTag: img.NewTag, Digest: img.Digest})
	}
	return out
}

// chartCRDAnnotations are the annotations that make Helm's rules hold for
// the CRDs of a chart's crds/ under policy: never pruned, and created only
// when missing unless the policy is CreateReplace.
func chartCRDAnnotations(policy v1alpha1.CRDPolicy) map[string]string {
	a := map[string]string{apply.PruneAnnotation: "disabled"}
	if policy != v1alpha1.CRDsCreateReplace {
		a[apply.ApplyAnnotation] = apply.IfNotPresent
	}
	return a
}

// apply applies the objects. On failure the inventory keeps both what was
// there and what was just created, so that nothing we created is orphaned.
func (r *AppSourceReconciler) apply(ctx context.Context, st *state) error {
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
	r.memory.putApplied(key, appliedSet{revision: st.revision, fingerprint: fingerprint, changes: changes.WithoutObjects()})
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

// valuesFrom reads one valuesFrom key; nil when optional and missing.
func (r *AppSourceReconciler) valuesFrom(ctx context.Context, st *state, ref v1alpha1.ValuesReference) (*render.ValuesSource, error) {
	name := fmt.Sprintf("%s/%s key %s", ref.Kind, ref.Name, ref.Key)
	obj, err := r.readRef(ctx, st, objectRef{ref.Kind, ref.Name})
	if client.IgnoreNotFound(err) != nil {
		return nil, failed(v1alpha1.AccessDeniedReason, fmt.Errorf("read %s: %w", name, err))
	}
	var data []byte
	var found bool
	switch o := obj.(type) {
	case *corev1.Secret:
		data, found = o.Data[ref.Key]
	case *corev1.ConfigMap:
		var s string
		s, found = o.Data[ref.Key]
		data = []byte(s)
	}
	switch {
	case found:
		return &render.ValuesSource{Name: name, Data: data}, nil
	case ref.Optional:
		return nil, nil
	}
	return nil, failed(v1alpha1.BuildFailedReason, fmt.Errorf("valuesFrom %s: not found", name))
}

// variablePattern is what a variable's name must match, as with Flux.
var variablePattern = regexp.MustCompile(`^[_[:alpha:]][_[:alpha:][:digit:]]*$`)

// variables are the variables of substitution: every key of substituteFrom's
// objects, in order, then substitute's; nil when neither is set. A missing
// object that is not optional, or a key that cannot name a variable, is
// BuildFailed naming it.
func (r *AppSourceReconciler) variables(ctx context.Context, st *state, k *v1alpha1.KustomizeRender) (map[string]string, error) {
	if k.Substitute == nil && k.SubstituteFrom == nil {
		return nil, nil
	}
	vars := map[string]string{}
	for _, ref := range k.SubstituteFrom {
		name := ref.Kind + "/" + ref.Name
		obj, err := r.readRef(ctx, st, objectRef{ref.Kind, ref.Name})
		switch {
		case apierrors.IsNotFound(err) && ref.Optional:
			continue
		case apierrors.IsNotFound(err):
			return nil, failed(v1alpha1.BuildFailedReason, fmt.Errorf("substituteFrom %s: not found", name))
		case err != nil:
			return nil, failed(v1alpha1.AccessDeniedReason, fmt.Errorf("read %s: %w", name, err))
		}
		data := map[string]string{}
		switch o := obj.(type) {
		case *corev1.Secret:
			for key, v := range o.Data {
				data[key] = string(v)
			}
		case *corev1.ConfigMap:
			maps.Copy(data, o.Data)
		}
		for key, v := range data {
			if !variablePattern.MatchString(key) {
				return nil, failed(v1alpha1.BuildFailedReason, fmt.Errorf("substituteFrom %s: key %q cannot name a variable (want %s)", name, key, variablePattern))
			}
			vars[key] = v
		}
	}
	for key, v := range k.Substitute {
		if !variablePattern.MatchString(key) {
			return nil, stalled(v1alpha1.InvalidSpecReason, fmt.Errorf("spec.render.kustomize.substitute: %q cannot name a variable (want %s)", key, variablePattern))
		}
		vars[key] = v
	}
	return vars, nil
}

// isNamespaced asks discovery; for a kind it does not know (a CRD of the same
// render), the error lets the render decide from its own CRDs.
func (r *AppSourceReconciler) isNamespaced(gk schema.GroupKind) (bool, error) {
	m, err := r.Mapper.RESTMapping(gk)
	if err != nil {
		return false, err
	}
	return m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

func pathOrRoot(p string) string {
	if p == "" {
		return "."
	}
	return p
}
