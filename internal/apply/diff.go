package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// DiffAction is what an apply would do to one object.
type DiffAction string

// Diff actions.
const (
	DiffCreate    DiffAction = "create"
	DiffUpdate    DiffAction = "update"
	DiffNone      DiffAction = "unchanged"
	DiffRecreate  DiffAction = "recreate"
	DiffPrune     DiffAction = "prune"
	DiffConflict  DiffAction = "conflict"
	redactedValue            = "<redacted>"
)

// ObjectDiff is what an apply would do to one object, with a unified diff of
// the live object against the server's dry-run result; Secret values are
// redacted.
type ObjectDiff struct {
	Object string
	Action DiffAction
	// Diff is a unified diff for create and update.
	Diff string
	// Message explains a conflict or a recreate.
	Message string
}

// Diff computes, with server-side dry-runs and without writing anything,
// what applying objs and pruning the rest of inventory would do.
func (m *Manager) Diff(ctx context.Context, objs []*unstructured.Unstructured, inventory []Entry, opts Options) ([]ObjectDiff, error) {
	c, err := m.client(opts.Impersonate)
	if err != nil {
		return nil, err
	}
	ig, err := compileIgnores(opts.Ignore)
	if err != nil {
		return nil, fmt.Errorf("ignore%w", err)
	}
	scaled := scaledTargets(ctx, c, objs)
	var diffs []ObjectDiff
	var current []Entry
	for _, obj := range objs {
		key := obj.GetNamespace() + "/" + obj.GetKind() + "/" + obj.GetName()
		want, err := intent(obj, opts.Owner, scaled[key], ig)
		if err != nil {
			return diffs, err
		}
		d, err := m.diffOne(ctx, c, want)
		if err != nil {
			return diffs, err
		}
		diffs = append(diffs, d)
		current = append(current, EntryFor(obj))
	}
	for _, e := range Stale(inventory, current) {
		obj, err := e.Parse()
		if err != nil {
			return diffs, err
		}
		diffs = append(diffs, ObjectDiff{Object: obj.String(), Action: DiffPrune})
	}
	return diffs, nil
}

func (m *Manager) diffOne(ctx context.Context, c client.Client, want *unstructured.Unstructured) (ObjectDiff, error) {
	d := ObjectDiff{Object: Describe(want)}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(want.GroupVersionKind())
	err := c.Get(ctx, client.ObjectKeyFromObject(want), live)
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		live = nil
	} else if err != nil {
		return d, describeError(want, err)
	}
	if live != nil && want.GetAnnotations()[ApplyAnnotation] == IfNotPresent {
		d.Action = DiffNone // left as it is: see applyOne
		return d, nil
	}
	// Without force first: a conflict is worth showing, it means another
	// manager owns a field we set.
	dry := want.DeepCopy()
	err = c.Apply(ctx, client.ApplyConfigurationFromUnstructured(dry), client.FieldOwner(FieldManager), client.DryRunAll)
	if apierrors.IsConflict(err) {
		d.Action, d.Message = DiffConflict, describeError(want, err).Error()
		dry = want.DeepCopy()
		err = c.Apply(ctx, client.ApplyConfigurationFromUnstructured(dry), client.FieldOwner(FieldManager), client.ForceOwnership, client.DryRunAll)
	}
	var immutable *ImmutableFieldError
	if err != nil && errors.As(describeError(want, err), &immutable) {
		d.Action, d.Message = DiffRecreate, immutable.Error()
		return d, nil
	}
	if err != nil {
		return d, describeError(want, err)
	}
	before, after := comparable(live), comparable(dry)
	if want.GetKind() == "Secret" {
		redactSecrets(before, after)
	}
	d.Diff = unifiedDiff(d.Object, before, after)
	switch {
	case d.Action == DiffConflict:
	case live == nil:
		d.Action = DiffCreate
	case d.Diff == "":
		d.Action = DiffNone
	default:
		d.Action = DiffUpdate
	}
	return d, nil
}

// comparable strips what changes on every write and says nothing about intent.
func comparable(obj *unstructured.Unstructured) map[string]any {
	if obj == nil {
		return nil
	}
	out := obj.DeepCopy()
	for _, f := range []string{"managedFields", "resourceVersion", "generation", "creationTimestamp", "uid"} {
		unstructured.RemoveNestedField(out.Object, "metadata", f)
	}
	return out.Object
}

// redactSecrets replaces Secret values: an unchanged value reads <redacted>
// on both sides, a changed one <redacted> and <redacted (changed)>.
func redactSecrets(before, after map[string]any) {
	for _, field := range []string{"data", "stringData"} {
		old, _, _ := unstructured.NestedMap(before, field)
		cur, _, _ := unstructured.NestedMap(after, field)
		for k, v := range cur {
			if prev, ok := old[k]; ok && prev == v {
				cur[k] = redactedValue
			} else {
				cur[k] = redactedValue + " (changed)"
			}
		}
		for k := range old {
			old[k] = redactedValue
		}
		if old != nil {
			_ = unstructured.SetNestedMap(before, old, field)
		}
		if cur != nil {
			_ = unstructured.SetNestedMap(after, cur, field)
		}
	}
}

func unifiedDiff(name string, before, after map[string]any) string {
	text := func(obj map[string]any) string {
		if obj == nil {
			return ""
		}
		b, _ := yaml.Marshal(obj)
		return string(b)
	}
	a, b := text(before), text(after)
	if a == b {
		return ""
	}
	lines := func(s string) []string {
		if s == "" {
			return nil
		}
		// SplitLines makes an empty line of what follows the last newline.
		return difflib.SplitLines(strings.TrimSuffix(s, "\n"))
	}
	out, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: lines(a), B: lines(b),
		FromFile: name + " (live)", ToFile: name + " (rendered)", Context: 3,
	})
	return out
}
