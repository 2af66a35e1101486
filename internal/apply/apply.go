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
	ig, err := compileIgnores(opts.Ignore)
	if err != nil {
		return nil, fmt.Errorf("ignore%w", err)
	}
	scaled := scaledTargets(ctx, m.reader(c), objs)
	first, rest := splitStages(objs)
	changes, err := m.applyStage(ctx, c, first, scaled, ig, opts)
	if err != nil {
		return changes, err
	}
	if err := m.waitEstablished(ctx, c, first, opts.WaitTimeout); err != nil {
		return changes, err
	}
	more, err := m.applyStage(ctx, c, rest, scaled, ig, opts)
	return append(changes, more...), err
}

// applyStage applies objs in parallel, at most opts.Concurrency at a time.
func (m *Manager) applyStage(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, scaled map[string]bool, ig ignorer, opts Options) (ChangeSet, error) {
	if len(objs) == 0 {
		return nil, nil
	}
	changes := make(ChangeSet, len(objs))
	errs := make([]error, len(objs))
	sem := make(chan struct{}, max(opts.Concurrency, 1))
	applied := opts.progress("apply")
	var wg sync.WaitGroup
	for i, obj := range objs {
		key := obj.GetNamespace() + "/" + obj.GetKind() + "/" + obj.GetName()
		want, err := intent(obj, opts.Owner, scaled[key], ig)
		if err != nil {
			errs[i] = err
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if changes[i], errs[i] = m.applyOne(ctx, c, want, opts); errs[i] == nil {
				applied()
			}
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

// applyOne applies one intent unless the Manager knows it would change
// nothing: the live object is the one it applied, at the resourceVersion
// it last saw or with the fields we manage as it left them; or the intent
// is annotated IfNotPresent and the object exists.
func (m *Manager) applyOne(ctx context.Context, c client.Client, want *unstructured.Unstructured, opts Options) (Change, error) {
	entry := EntryFor(want)
	change := Change{Object: Describe(want), Entry: entry}
	have, err := readLive(ctx, m.reader(c), want)
	if want.GetAnnotations()[ApplyAnnotation] == IfNotPresent {
		if err == nil && have == nil {
			// The cache holds only the objects applied by AppSources.
			have, err = readLive(ctx, c, want)
		}
		if err == nil && have != nil {
			// Remembered as it is, so that the drift check passes over it
			// while nobody changes it.
			m.remember(entry.ID, record{uid: string(have.GetUID()), intent: hashIntent(want),
				fields: hashOwnedFields(have.GetManagedFields()), resourceVersion: have.GetResourceVersion()})
			change.Action, change.Generation = Unchanged, have.GetGeneration()
			return change, nil
		}
	}
	if err == nil && have != nil && ownedByOther(have.GetLabels(), opts.Owner) && opts.Impersonate != "" {
		// The cache reads with the manager's permissions: only an account
		// that may read the object learns whose it is; to any other, it
		// is an object it may not write.
		have, err = readLive(ctx, c, want)
	}
	if err != nil {
		return change, describeError(want, err)
	}
	if have != nil && ownedByOther(have.GetLabels(), opts.Owner) {
		labels := have.GetLabels()
		return change, &OwnershipError{Object: change.Object, Owner: labels[NameLabel], OwnerNamespace: labels[NamespaceLabel]}
	}
	hash := hashIntent(want)
	prev, known := m.remembered(entry.ID)
	if have != nil && known && prev.intent == hash && prev.uid == string(have.GetUID()) {
		if m.leftAsApplied(entry.ID, prev, have) {
			change.Action, change.Generation = Unchanged, have.GetGeneration()
			return change, nil
		}
		change.Drift = true
	}
	applied := want.DeepCopy()
	err = c.Apply(ctx, client.ApplyConfigurationFromUnstructured(applied), client.FieldOwner(FieldManager), client.ForceOwnership)
	if err != nil && isImmutable(err) && want.GetAnnotations()[ForceAnnotation] == "enabled" {
		change.Action = Recreated
		applied, err = m.recreate(ctx, c, want, opts)
	}
	if err == nil {
		applied, err = takeOverClientSideFields(ctx, c, want, applied)
	}
	if err != nil {
		return change, describeError(want, err)
	}
	m.remember(entry.ID, record{uid: string(applied.GetUID()), intent: hash,
		fields: hashOwnedFields(applied.GetManagedFields()), resourceVersion: applied.GetResourceVersion()})
	// Kept for a health check that finds the cache behind: it reads no
	// content and no field set.
	DropContent(applied)
	applied.SetManagedFields(nil)
	change.Generation, change.Applied = applied.GetGeneration(), applied
	// A cache may not have seen our last apply yet: what that apply returned
	// tells a write that changed nothing as well as the live object does.
	sameObject := known && prev.uid == string(applied.GetUID())
	switch {
	case change.Action == Recreated:
	case sameObject && applied.GetResourceVersion() == prev.resourceVersion,
		have != nil && applied.GetResourceVersion() == have.GetResourceVersion():
		change.Action, change.Drift = Unchanged, false
	case have == nil && !sameObject:
		change.Action = Created
	default:
		change.Action = Configured
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
