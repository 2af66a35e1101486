package apply

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Labels and annotations the engine reads and writes.
const (
	NameLabel       = "deploy.driftless.dev/name"
	NamespaceLabel  = "deploy.driftless.dev/namespace"
	PruneAnnotation = "deploy.driftless.dev/prune"
	ForceAnnotation = "deploy.driftless.dev/force"
	// ApplyAnnotation set to IfNotPresent creates the object when it is
	// missing and otherwise leaves it as it is, whoever made it.
	ApplyAnnotation = "deploy.driftless.dev/apply"
	IfNotPresent    = "IfNotPresent"
)

// record is what the Manager remembers of an object it applied: enough to
// know, from the object's metadata alone, that a new apply would change nothing.
type record struct {
	uid    string // the object applied; a recreated object has another
	intent string // hash of the intent applied
	fields string // hash of the fields we owned right after the apply
	// resourceVersion is the object's version when last seen unchanged:
	// while it stays, nothing at all changed, and fields need no hashing.
	resourceVersion string
}

// intent is the object we ask the server to hold: the rendered object with
// the owner labels, without the fields ignored and those that belong to an
// autoscaler.
func intent(obj *unstructured.Unstructured, owner Owner, scaled bool, ig ignorer) (*unstructured.Unstructured, error) {
	out := obj.DeepCopy()
	if err := ig.strip(out); err != nil {
		return nil, err
	}
	labels := out.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[NameLabel], labels[NamespaceLabel] = owner.Name, owner.Namespace
	out.SetLabels(labels)
	if scaled {
		// A HorizontalPodAutoscaler owns the replica count: writing it would
		// reset every scale-out at each apply.
		unstructured.RemoveNestedField(out.Object, "spec", "replicas")
	}
	return out, nil
}

// DropContent removes from obj, in place, the content of a ConfigMap or a
// Secret (data, binaryData, stringData): what neither the drift check (our
// field set) nor a health check (always Current) reads, and what a cache of
// applied objects need not hold in memory, Secret values least of all.
func DropContent(obj *unstructured.Unstructured) {
	if gvk := obj.GroupVersionKind(); gvk.Group != "" || (gvk.Kind != "ConfigMap" && gvk.Kind != "Secret") {
		return
	}
	for _, f := range []string{"data", "binaryData", "stringData"} {
		delete(obj.Object, f)
	}
}

// hashIntent is a stable hash of an intent (encoding/json sorts map keys).
func hashIntent(obj *unstructured.Unstructured) string {
	b, _ := json.Marshal(obj.Object)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// hashOwnedFields hashes the field set our field manager holds through apply.
// Another manager changing one of those fields takes it from us, so a
// different hash means someone else changed what we manage: drift.
func hashOwnedFields(managed []metav1.ManagedFieldsEntry) string {
	for _, m := range managed {
		if m.Manager == FieldManager && m.Operation == metav1.ManagedFieldsOperationApply && m.Subresource == "" {
			if m.FieldsV1 == nil {
				return ""
			}
			sum := sha256.Sum256(m.FieldsV1.GetRawBytes())
			return hex.EncodeToString(sum[:])
		}
	}
	return ""
}

// owned reports whether obj's labels name owner.
func owned(labels map[string]string, owner Owner) bool {
	return labels[NameLabel] == owner.Name && labels[NamespaceLabel] == owner.Namespace
}

// ownedByOther reports whether labels name an owner other than owner.
func ownedByOther(labels map[string]string, owner Owner) bool {
	name, ok := labels[NameLabel]
	return ok && (name != owner.Name || labels[NamespaceLabel] != owner.Namespace)
}
