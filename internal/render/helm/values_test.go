package helm

import (
	"strings"
	"testing"
)

// TestValuesOrder checks values merge in Helm's order: values.yaml, then
// values files, then values documents, then inline values.
func TestValuesOrder(t *testing.T) {
	dir := writeTree(t, minimalChart(map[string]string{
		"chart/templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n" +
			"  a: {{ .Values.a | quote }}\n  b: {{ .Values.nested.b | quote }}\n  c: {{ .Values.nested.c | quote }}\n  d: {{ .Values.d | quote }}\n",
		"chart/values.yaml": "a: chart\nnested: {b: chart, c: chart}\nd: chart\n",
		"chart/one.yaml":    "a: one\nnested: {b: one}\n",
		"two.yaml":          "a: two\n",
	}))
	out, err := Template(t.Context(), openFS(t, dir), "chart", Options{
		ReleaseName: "r",
		ValuesFiles: []string{"one.yaml", "../two.yaml"},
		ValuesFrom:  []Values{{Data: []byte("nested: {c: from}\nd: from\n")}},
		Values:      map[string]any{"d": "inline"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`a: "two"`, `b: "one"`, `c: "from"`, `d: "inline"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}

// TestValuesErrorsNeverQuoteValues plants a canary in invalid values and
// checks no error repeats it (DESIGN rule 3).
func TestValuesErrorsNeverQuoteValues(t *testing.T) {
	const canary = "canary-7f3a9c"
	bad := []string{
		"password: " + canary + "\n  bad: indent\n",
		"? [" + canary + "]\n: x\n",
		"a: b\n" + canary + ": [\n",
	}
	dir := writeTree(t, minimalChart(nil))
	for i, doc := range bad {
		_, err := Template(t.Context(), openFS(t, dir), "chart", Options{ReleaseName: "r", ValuesFrom: []Values{{Name: "Secret/s key v", Data: []byte(doc)}}})
		if err == nil || strings.Contains(err.Error(), canary) || !strings.Contains(err.Error(), "Secret/s key v") {
			t.Errorf("document %d: got %v, want an error naming the source without the value", i, err)
		}
	}
}

// TestValuesAreNotChanged checks a render leaves the caller's values alone.
func TestValuesAreNotChanged(t *testing.T) {
	dir := writeTree(t, minimalChart(nil))
	vals := map[string]any{"greeting": "hi", "nested": map[string]any{"x": "y"}}
	if _, err := Template(t.Context(), openFS(t, dir), "chart", Options{ReleaseName: "r", Values: vals}); err != nil {
		t.Fatal(err)
	}
	if len(vals) != 2 || vals["nested"].(map[string]any)["x"] != "y" || len(vals["nested"].(map[string]any)) != 1 {
		t.Fatalf("values changed: %v", vals)
	}
}
