package render

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitDocuments(t *testing.T) {
	stream := "# Source: chart/templates/a.yaml\n" + cmA + "---\n" + cmB + "--- # comment\n" + "---\n" + "--- not a separator\n"
	docs := splitDocuments([]byte(stream))
	var lines []int
	for _, d := range docs {
		lines = append(lines, d.line)
	}
	if want := []int{1, 9, 14, 15}; !reflect.DeepEqual(lines, want) {
		t.Fatalf("document lines = %v, want %v", lines, want)
	}
	// The second document has no "# Source: " of its own: it is the next of
	// the same file, as in a chart's crds/, which Helm prints as it is.
	if docs[0].template != "chart/templates/a.yaml" || docs[1].template != "chart/templates/a.yaml" {
		t.Fatalf("templates = %q, %q", docs[0].template, docs[1].template)
	}
	if string(docs[3].data) != "--- not a separator\n" {
		t.Fatalf("last document = %q", docs[3].data)
	}
}

func TestParseStream(t *testing.T) {
	list := "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSpace(cmA), "\n", "\n  ") + "\n- " +
		strings.ReplaceAll(strings.TrimSpace(cmB), "\n", "\n  ") + "\n"
	objs, err := parseStream([]byte(ns+"---\n# only a comment\n---\n"+list), "m.yaml", DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(objs), []string{"Namespace/team", "ConfigMap/a", "ConfigMap/b"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("objects = %v, want %v", got, want)
	}
	if objs[1].line != 8 {
		t.Fatalf("list item line = %d, want 8", objs[1].line)
	}
}

// TestParseErrors checks errors name the file and line and never quote the
// document: it may be a secret (DESIGN rule 3).
func TestParseErrors(t *testing.T) {
	const canary = "canary-91c2"
	tests := []struct {
		name, doc, want string
	}{
		{"syntax", cmA + "---\napiVersion: v1\nkind: Secret\nstringData:\n  password: " + canary + "\n  bad: [\n",
			"m.yaml:12: invalid YAML:"},
		{"not a mapping", cmA + "---\n- " + canary + "\n", "m.yaml:8: document is not a YAML mapping"},
		{"bad list", "apiVersion: v1\nkind: List\nitems: " + canary + "\n", "m.yaml:1: kind List: items is not a sequence"},
		{"tab indent", "a:\n\tb: " + canary + "\n", "m.yaml:2: invalid YAML:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseStream([]byte(tt.doc), "m.yaml", DefaultLimits())
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), canary) {
				t.Fatalf("parseStream = %v, want %q… without the canary", err, tt.want)
			}
		})
	}
}

func TestParseNumbers(t *testing.T) {
	objs, err := parseStream([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 3, ratio: 0.5, paused: yes}\n"), "d.yaml", DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	spec := objs[0].u.Object["spec"].(map[string]any)
	if spec["replicas"] != int64(3) || spec["ratio"] != 0.5 || spec["paused"] != true {
		t.Fatalf("spec = %#v, want int64 3, float 0.5 and YAML 1.1 true as kubectl reads them", spec)
	}
}

func TestFromCRDsDir(t *testing.T) {
	for template, want := range map[string]bool{
		"web/crds/widgets.yaml":                 true,
		"web/charts/db/crds/tables.yaml":        true,
		"web/charts/db/charts/x/crds/a/b.yaml":  true,
		"web/templates/crds/widgets.yaml":       false,
		"web/templates/crds.yaml":               false,
		"crds/widgets.yaml":                     false,
		"web/charts/db/templates/crds/old.yaml": false,
		"":                                      false,
	} {
		if got := fromCRDsDir(template); got != want {
			t.Errorf("fromCRDsDir(%q) = %v, want %v", template, got, want)
		}
	}
}
