package apply

import (
	"context"
	"errors"
	"slices"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Prune deletes the objects of stale entries that still carry opts.Owner's
// labels and are not annotated deploy.driftless.dev/prune: disabled.
// Namespaced objects go before cluster-scoped ones, custom resources before
// CRDs and Namespaces last. It returns a change per entry and the entries
// whose deletion was not confirmed: they must stay in the inventory. Call it
// only after every stage of an apply succeeded.
func (m *Manager) Prune(ctx context.Context, stale []Entry, opts Options) (ChangeSet, []Entry, error) {
	c, err := m.client(opts.Impersonate)
	if err != nil {
		return nil, stale, err
	}
	ordered := slices.Clone(stale)
	slices.SortStableFunc(ordered, func(a, b Entry) int { return pruneRank(a) - pruneRank(b) })
	changes := make(ChangeSet, len(ordered))
	errs := make([]error, len(ordered))
	sem := make(chan struct{}, max(opts.Concurrency, 1))
	deleted := opts.progress("prune")
	var wg sync.WaitGroup
	for i, e := range ordered {
		// Each rank waits for the one before: CRs are gone before their CRD.
		if i > 0 && pruneRank(e) != pruneRank(ordered[i-1]) {
			wg.Wait()
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if changes[i], errs[i] = m.pruneOne(ctx, c, e, opts.Owner); errs[i] == nil {
				deleted()
			}
		})
	}
	wg.Wait()
	var done ChangeSet
	var kept []Entry
	for i, e := range ordered {
		if errs[i] != nil {
			kept = append(kept, e)
			continue
		}
		done = append(done, changes[i])
	}
	return done, kept, errors.Join(errs...)
}

// protectedKinds hold data, or every object inside them: deleting one by
// surprise loses what no re-apply brings back.
var protectedKinds = map[schema.GroupKind]bool{
	{Kind: "Namespace"}:             true,
	{Kind: "PersistentVolumeClaim"}: true,
	crdKind:                         true,
}

// Protected reports whether e is of a kind that leaves Git without being
// deleted until a person confirms: Namespace, PersistentVolumeClaim,
// CustomResourceDefinition. An entry that does not parse is protected.
func Protected(e Entry) bool {
	obj, err := e.Parse()
	return err != nil || protectedKinds[obj.GroupVersionKind.GroupKind()]
}

// pruneRank orders deletions: namespaced objects, then cluster-scoped ones,
// then CRDs, then Namespaces.
func pruneRank(e Entry) int {
	obj, err := e.Parse()
	switch {
	case err != nil:
		return 0
	case obj.GroupVersionKind.GroupKind() == crdKind:
		return 2
	case obj.GroupVersionKind.Group == "" && obj.GroupVersionKind.Kind == "Namespace":
		return 3
	case obj.Namespace == "":
		return 1
	}
	return 0
}

func (m *Manager) pruneOne(ctx context.Context, c client.Client, e Entry, owner Owner) (Change, error) {
	obj, err := e.Parse()
	if err != nil {
		return Change{}, err
	}
	change := Change{Object: obj.String(), Entry: e}
	live := &metav1.PartialObjectMetadata{}
	live.SetGroupVersionKind(obj.GroupVersionKind)
	err = c.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: obj.Name}, live)
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		change.Action, change.Reason = Deleted, "already gone"
		m.forget(e.ID)
		return change, nil
	case err != nil:
		return change, &ObjectError{Object: change.Object, Err: err}
	case !owned(live.Labels, owner):
		// Someone changed the labels: the object is no longer ours to delete.
		change.Action, change.Reason = Skipped, "no longer labelled as applied by this AppSource"
		return change, nil
	case live.Annotations[PruneAnnotation] == "disabled":
		change.Action, change.Reason = Skipped, PruneAnnotation+": disabled"
		return change, nil
	}
	err = c.Delete(ctx, live, client.PropagationPolicy(metav1.DeletePropagationBackground),
		client.Preconditions{UID: &live.UID})
	if err != nil && !apierrors.IsNotFound(err) {
		return change, &ObjectError{Object: change.Object, Err: err}
	}
	m.forget(e.ID)
	change.Action = Deleted
	return change, nil
}
