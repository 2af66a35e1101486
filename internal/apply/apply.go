package apply

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Apply applies objs in two stages: CRDs and Namespaces first, then, once
// the CRDs are established, everything else. Within a stage, objects are
// applied in parallel. It returns a change per object, in the order of objs
// within each stage; on error the change set holds what was done, and the
// error names every object that failed. A failed first stage stops the apply.
func (m *Manager) Apply(ctx context.Context, objs []*unstructured.Unstructured, opts Options) (ChangeSet, error) {
	c, err := m.client(opts.Impersonate)
	if err != nil {
		return nil, err
	}
	scaled := scaledTargets(ctx, c, objs)
	first, rest := splitStages(objs)
	changes, err := m.applyStage(ctx, c, first, scaled, opts)
	if err != nil {
		return changes, err
	}
	if err := m.waitEstablished(ctx, c, first, opts.WaitTimeout); err != nil {
		return changes, err
	}
	more, err := m.applyStage(ctx, c, rest, scaled, opts)
	return append(changes, more...), err
}

// applyStage applies objs in parallel, at most opts.Concurrency at a time.
func (m *Manager) applyStage(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, scaled map[string]bool, opts Options) (ChangeSet, error) {
	if len(objs) == 0 {
		return nil, nil
	}
	current, err := readLive(ctx, c, objs)
	if err != nil {
		return nil, fmt.Errorf("read live objects: %w", err)
	}
	changes := make(ChangeSet, len(objs))
	errs := make([]error, len(objs))
	sem := make(chan struct{}, max(opts.Concurrency, 1))
	var wg sync.WaitGroup
	for i, obj := range objs {
		key := obj.GetNamespace() + "/" + obj.GetKind() + "/" + obj.GetName()
		want := intent(obj, opts.Owner, scaled[key])
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			changes[i], errs[i] = m.applyOne(ctx, c, want, current, opts)
		})
	}
	wg.Wait()
	var done ChangeSet
	for i, ch := range changes {
		if errs[i] == nil {
			done = append(done, ch)
		}
	}
	return done, errors.Join(errs...)
}

// applyOne applies one intent unless the Manager knows it would change nothing.
func (m *Manager) applyOne(ctx context.Context, c client.Client, want *unstructured.Unstructured, current live, opts Options) (Change, error) {
	entry := EntryFor(want)
	change := Change{Object: Describe(want), Entry: entry}
	hash := hashIntent(want)
	have, exists := current[entry.ID]
	if exists && ownedByOther(have.Labels, opts.Owner) {
		return change, &OwnershipError{Object: change.Object, Owner: have.Labels[NameLabel], OwnerNamespace: have.Labels[NamespaceLabel]}
	}
	prev, known := m.remembered(entry.ID)
	if exists && known && prev.uid == string(have.UID) && prev.intent == hash {
		if prev.fields == hashOwnedFields(have.ManagedFields) {
			change.Action, change.Generation = Unchanged, have.Generation
			return change, nil
		}
		change.Drift = true
	}
	applied := want.DeepCopy()
	err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(applied), client.FieldOwner(FieldManager), client.ForceOwnership)
	if err != nil && isImmutable(err) && want.GetAnnotations()[ForceAnnotation] == "enabled" {
		change.Action = Recreated
		applied, err = m.recreate(ctx, c, want, opts)
	}
	if err != nil {
		return change, describeError(want, err)
	}
	m.remember(entry.ID, record{uid: string(applied.GetUID()), intent: hash, fields: hashOwnedFields(applied.GetManagedFields())})
	change.Generation, change.Applied = applied.GetGeneration(), applied
	switch {
	case change.Action == Recreated:
	case !exists:
		change.Action = Created
	case applied.GetResourceVersion() != have.ResourceVersion:
		change.Action = Configured
	default:
		change.Action, change.Drift = Unchanged, false
	}
	return change, nil
}

func (m *Manager) remembered(id string) (record, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.applied[id]
	return r, ok
}

func (m *Manager) remember(id string, r record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.applied[id] = r
}

func (m *Manager) forget(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.applied, id)
}
