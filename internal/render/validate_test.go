package render

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name, stream, want string
	}{
		{"valid", ns + "---\n" + cmA, ""},
		{"no apiVersion", "kind: ConfigMap\nmetadata: {name: a}\n", "m.yaml:1: object has no apiVersion"},
		{"no kind", "apiVersion: v1\nmetadata: {name: a}\n", "m.yaml:1: object has no kind"},
		{"no metadata", "apiVersion: v1\nkind: ConfigMap\n", "m.yaml:1: ConfigMap has no metadata"},
		{"no name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n", "m.yaml:1: ConfigMap has no metadata.name"},
		{"generateName", "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: migrate-}\n", "m.yaml:1: Job has only metadata.generateName"},
		{"duplicate", cmA + "---\n" + cmB + "---\n" + cmA, "m.yaml:13: duplicate object ConfigMap a: also in m.yaml:1"},
		{"same name other kind", cmA + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: a}\n", ""},
		{"duplicate across versions", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n---\n" +
			"apiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: d}\n", "m.yaml:5: duplicate object apps/Deployment d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := parseStream([]byte(tt.stream), "m.yaml", DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			err = validate(objs)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("validate = %v", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Fatalf("validate = %v, want %q…", err, tt.want)
			}
		})
	}
}

func TestValidateNamesHelmTemplates(t *testing.T) {
	stream := "---\n# Source: app/templates/a.yaml\n" + cmA + "---\n# Source: app/templates/b.yaml\n" + cmA
	objs, err := parseGenerated([]byte(stream), "charts/app", DefaultLimits(), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = validate(objs)
	want := "charts/app: duplicate object ConfigMap a: also in charts/app (app/templates/a.yaml)"
	if err == nil || err.Error() != want {
		t.Fatalf("validate = %v, want %q", err, want)
	}
}
