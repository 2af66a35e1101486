package health

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// cached is a cache holding a fixed set of objects, by name.
type cached map[string]*unstructured.Unstructured

func (c cached) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	o, ok := c[key.Name]
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{}, key.Name)
	}
	o.DeepCopyInto(obj.(*unstructured.Unstructured))
	return nil
}

func (c cached) List(context.Context, client.ObjectList, ...client.ListOption) error { return nil }

func deployment(generation, observed int64) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "ns", "generation": generation},
		"spec":     map[string]any{"replicas": int64(1)},
		"status": map[string]any{"observedGeneration": observed, "replicas": int64(1), "updatedReplicas": int64(1),
			"readyReplicas": int64(1), "availableReplicas": int64(1),
			"conditions": []any{map[string]any{"type": "Available", "status": "True"},
				map[string]any{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}}},
	}}
	return u
}

func configMap() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "config", "namespace": "ns"},
	}}
}

// TestCheckBeforeTheCacheCatchesUp: an object the cache does not hold yet,
// or holds at an older generation, is judged by what the apply returned;
// without that, it is InProgress, never Current on stale status.
func TestCheckBeforeTheCacheCatchesUp(t *testing.T) {
	deploy := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	cm := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	tests := []struct {
		name    string
		cache   cached
		ref     Ref
		want    Status
		message string
	}{
		{"created, not cached yet, statusless", cached{},
			Ref{GroupVersionKind: cm, Namespace: "ns", Name: "config", Applied: configMap()}, Current, ""},
		{"not cached, nothing applied", cached{},
			Ref{GroupVersionKind: cm, Namespace: "ns", Name: "config"}, InProgress, "not found yet"},
		{"cached at the applied generation", cached{"web": deployment(2, 2)},
			Ref{GroupVersionKind: deploy, Namespace: "ns", Name: "web", Generation: 2}, Current, ""},
		{"cached at an older generation, nothing applied", cached{"web": deployment(1, 1)},
			Ref{GroupVersionKind: deploy, Namespace: "ns", Name: "web", Generation: 2}, InProgress, "not in the cache yet"},
		{"cached at an older generation, applied not observed yet", cached{"web": deployment(1, 1)},
			Ref{GroupVersionKind: deploy, Namespace: "ns", Name: "web", Generation: 2, Applied: deployment(2, 1)}, InProgress, ""},
		{"cached newer than the apply", cached{"web": deployment(3, 3)},
			Ref{GroupVersionKind: deploy, Namespace: "ns", Name: "web", Generation: 2, Applied: deployment(2, 1)}, Current, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report, err := new(Checker).Check(context.Background(), tt.cache, []Ref{tt.ref}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := report[0]; got.Status != tt.want || !strings.Contains(got.Message, tt.message) {
				t.Errorf("Check = %s %q, want %s %q", got.Status, got.Message, tt.want, tt.message)
			}
		})
	}
}

// TestCheckerEvaluatesEachVersionOnce: a Checker judges an object by what
// it computed for the same resourceVersion, and computes again when the
// version changes.
func TestCheckerEvaluatesEachVersionOnce(t *testing.T) {
	deploy := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	ref := Ref{GroupVersionKind: deploy, Namespace: "ns", Name: "web"}
	versioned := func(rv string, generation, observed int64) cached {
		d := deployment(generation, observed)
		d.SetUID("uid-1")
		d.SetResourceVersion(rv)
		return cached{"web": d}
	}
	var c Checker
	check := func(cache cached) Status {
		t.Helper()
		report, err := c.Check(context.Background(), cache, []Ref{ref}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return report[0].Status
	}
	if got := check(versioned("1", 2, 1)); got != InProgress {
		t.Fatalf("status not observed yet: %s, want InProgress", got)
	}
	// The same version can only hold the same object; a different one
	// proves the status came from memory.
	if got := check(versioned("1", 2, 2)); got != InProgress {
		t.Errorf("same resourceVersion: %s, want the remembered InProgress", got)
	}
	if got := check(versioned("2", 2, 2)); got != Current {
		t.Errorf("new resourceVersion: %s, want Current", got)
	}
}

// A summary names the objects that are not Current, failed ones first, at
// most five, and counts the rest.
func TestSummary(t *testing.T) {
	ref := func(name string) Ref {
		return Ref{GroupVersionKind: schema.GroupVersionKind{Kind: "Deployment"}, Namespace: "ns", Name: name}
	}
	report := Report{{Ref: ref("ok"), Status: Current}}
	if got := report.Summary(); got != "1 objects Current" {
		t.Errorf("all Current: %q", got)
	}
	for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
		report = append(report, Result{Ref: ref(name), Status: InProgress, Message: "rolling"})
	}
	report = append(report, Result{Ref: ref("bad"), Status: Failed, Message: "deadline exceeded"})
	want := "Deployment/ns/bad Failed: deadline exceeded; Deployment/ns/a InProgress: rolling; Deployment/ns/b InProgress: rolling; " +
		"Deployment/ns/c InProgress: rolling; Deployment/ns/d InProgress: rolling; and 2 more"
	if got := report.Summary(); got != want {
		t.Errorf("summary:\n got %q\nwant %q", got, want)
	}
}
