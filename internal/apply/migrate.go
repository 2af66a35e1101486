package apply

import (
	"context"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/csaupgrade"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// clientSideManagers are the field managers of a client-side apply: kubectl
// apply without --server-side (older kubectl named itself "kubectl"), and
// what set the fields of an object before its first such apply.
var clientSideManagers = sets.New("kubectl-client-side-apply", "kubectl", "before-first-apply")

// takeOverClientSideFields moves to FieldManager the fields that a
// client-side apply of the object owns, as client-go's csaupgrade does for
// kubectl, and applies want again. Otherwise that manager keeps owning
// them, and a field removed from Git stays: server-side apply removes only
// the fields no other manager owns. The last-applied-configuration
// annotation goes with the second apply, as it is not in want. It returns
// the object as the last apply left it: applied when there was nothing to
// move.
func takeOverClientSideFields(ctx context.Context, c client.Client, want, applied *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if !slices.ContainsFunc(applied.GetManagedFields(), func(e metav1.ManagedFieldsEntry) bool { return clientSideManagers.Has(e.Manager) }) {
		return applied, nil // nothing to move: csaupgrade would decode every field set to learn it
	}
	patch, err := csaupgrade.UpgradeManagedFieldsPatch(applied, clientSideManagers, FieldManager)
	if err != nil || patch == nil {
		return applied, err
	}
	// The patch carries the resourceVersion it was computed from: a write
	// in between makes it conflict, and the next reconcile tries again.
	if err := c.Patch(ctx, applied.DeepCopy(), client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return nil, fmt.Errorf("take over the fields of a client-side apply: %w", err)
	}
	again := want.DeepCopy()
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(again), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return nil, err
	}
	return again, nil
}
