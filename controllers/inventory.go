package controllers

import (
	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
)

// inventoryOf is the inventory an AppSource's status holds.
func inventoryOf(obj *v1alpha1.AppSource) []apply.Entry {
	if obj.Status.Inventory == nil {
		return nil
	}
	out := make([]apply.Entry, len(obj.Status.Inventory.Entries))
	for i, e := range obj.Status.Inventory.Entries {
		out[i] = apply.Entry{ID: e.ID, Version: e.Version}
	}
	return out
}

// toInventory is the status form of entries.
func toInventory(entries []apply.Entry) *v1alpha1.Inventory {
	inv := &v1alpha1.Inventory{Entries: make([]v1alpha1.InventoryEntry, len(entries))}
	for i, e := range entries {
		inv.Entries[i] = v1alpha1.InventoryEntry{ID: e.ID, Version: e.Version}
	}
	return inv
}

// entriesOf lists the entries of the objects a change set wrote or kept.
func entriesOf(cs apply.ChangeSet) []apply.Entry {
	out := make([]apply.Entry, 0, len(cs))
	for _, c := range cs {
		if c.Action != apply.Deleted {
			out = append(out, c.Entry)
		}
	}
	return out
}

// union is a, then the entries of b that a lacks.
func union(a, b []apply.Entry) []apply.Entry {
	seen := make(map[string]bool, len(a))
	out := append([]apply.Entry(nil), a...)
	for _, e := range a {
		seen[e.ID] = true
	}
	for _, e := range b {
		if !seen[e.ID] {
			seen[e.ID] = true
			out = append(out, e)
		}
	}
	return out
}
