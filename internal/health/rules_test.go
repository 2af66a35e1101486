package health

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func widget(status map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "shop.example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "w", "generation": int64(2)}}}
	if status != nil {
		u.Object["status"] = status
	}
	return u
}

// TestRules evaluates a Widget's health by its rules, in the order
// inProgress, failed, current, and leaves other kinds to kstatus.
func TestRules(t *testing.T) {
	rules, err := CompileRules([]Rule{{APIVersion: "shop.example.com/v1", Kind: "Widget",
		InProgress: "has(status.observedGeneration) && status.observedGeneration < metadata.generation",
		Failed:     "status.phase == 'Broken'",
		Current:    "status.phase == 'Ready'"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		status map[string]any
		want   Status
		msg    string
	}{
		{"no status yet", nil, InProgress, "no such key"},
		{"ready", map[string]any{"phase": "Ready", "observedGeneration": int64(2)}, Current, "current is true"},
		{"ready for an older generation", map[string]any{"phase": "Ready", "observedGeneration": int64(1)}, InProgress, "inProgress is true"},
		{"broken", map[string]any{"phase": "Broken", "observedGeneration": int64(2)}, Failed, "failed is true"},
		{"pending", map[string]any{"phase": "Pending"}, InProgress, "no health check is true"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, ok := rules.evaluate(Ref{}, widget(tt.status))
			if !ok || res.Status != tt.want || !strings.Contains(res.Message, tt.msg) {
				t.Errorf("%v %s %q, want %s and a message with %q", ok, res.Status, res.Message, tt.want, tt.msg)
			}
		})
	}
	other := widget(nil)
	other.SetKind("Gadget")
	if _, ok := rules.evaluate(Ref{}, other); ok {
		t.Error("a rule for Widget evaluated a Gadget")
	}
	var none *Rules
	if _, ok := none.evaluate(Ref{}, widget(nil)); ok {
		t.Error("no rules evaluated a Widget")
	}
}

// TestCompileRulesErrors names the expression that does not compile or
// does not return a bool.
func TestCompileRulesErrors(t *testing.T) {
	for want, r := range map[string]Rule{
		"[0].current":    {APIVersion: "v1", Kind: "Widget", Current: "status.phase =="},
		"[0].failed":     {APIVersion: "v1", Kind: "Widget", Failed: "'a string'"},
		"[0].inProgress": {APIVersion: "v1", Kind: "Widget", InProgress: "nope.phase == 'x'"},
	} {
		if _, err := CompileRules([]Rule{r}); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%+v: %v, want an error naming %s", r, err, want)
		}
	}
}
