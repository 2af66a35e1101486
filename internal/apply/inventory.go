package apply

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Entry identifies one applied object in an inventory.
type Entry struct {
	// ID is "<namespace>_<name>_<group>_<kind>"; none of those may hold "_".
	ID string
	// Version is the API version the object was applied with.
	Version string
}

// EntryFor returns the inventory entry of obj.
func EntryFor(obj *unstructured.Unstructured) Entry {
	// apiVersion is "group/version", or "version" for the core group.
	group, version, grouped := strings.Cut(obj.GetAPIVersion(), "/")
	if !grouped {
		group, version = "", group
	}
	return Entry{ID: idOf(obj.GetNamespace(), obj.GetName(), schema.GroupKind{Group: group, Kind: obj.GetKind()}), Version: version}
}

func idOf(namespace, name string, gk schema.GroupKind) string {
	return namespace + "_" + name + "_" + gk.Group + "_" + gk.Kind
}

// Object is the identity an Entry stands for.
type Object struct {
	Namespace, Name  string
	GroupVersionKind schema.GroupVersionKind
}

// Parse splits an entry into the object it identifies.
func (e Entry) Parse() (Object, error) {
	parts := strings.Split(e.ID, "_")
	if len(parts) != 4 || parts[1] == "" || parts[3] == "" {
		return Object{}, fmt.Errorf("invalid inventory id %q: want <namespace>_<name>_<group>_<kind>", e.ID)
	}
	return Object{
		Namespace: parts[0], Name: parts[1],
		GroupVersionKind: schema.GroupVersionKind{Group: parts[2], Version: e.Version, Kind: parts[3]},
	}, nil
}

// String is "Kind/namespace/name", or "Kind/name" when cluster-scoped.
func (o Object) String() string {
	return describe(o.GroupVersionKind.Kind, o.Namespace, o.Name)
}

func describe(kind, namespace, name string) string {
	if namespace == "" {
		return kind + "/" + name
	}
	return kind + "/" + namespace + "/" + name
}

// Describe names obj as "Kind/namespace/name" for messages.
func Describe(obj *unstructured.Unstructured) string {
	return describe(obj.GetKind(), obj.GetNamespace(), obj.GetName())
}

// Stale returns the entries of old that are not in current: what prune deletes.
func Stale(old, current []Entry) []Entry {
	keep := make(map[string]bool, len(current))
	for _, e := range current {
		keep[e.ID] = true
	}
	var stale []Entry
	for _, e := range old {
		if !keep[e.ID] {
			stale = append(stale, e)
		}
	}
	return stale
}
