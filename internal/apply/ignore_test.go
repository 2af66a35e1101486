package apply

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func TestIgnoreStrips(t *testing.T) {
	const webhook = `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: inject
  labels: {team: a}
  annotations: {"deploy.driftless.dev/ignore": "/metadata/annotations/a~1b, /webhooks/2"}
webhooks:
- {name: w0, clientConfig: {caBundle: AAA, url: "https://x"}}
- {name: w1, clientConfig: {caBundle: BBB}}
- {name: w2}
`
	tests := []struct {
		name  string
		rules []Ignore
		want  string // the object's YAML after, without the annotation
	}{
		{"the annotation alone", nil, `webhooks:
- {name: w0, clientConfig: {caBundle: AAA, url: "https://x"}}
- {name: w1, clientConfig: {caBundle: BBB}}
`},
		{"a rule selecting by kind and label, two list items", []Ignore{{Kind: "Mutating.*", LabelSelector: "team=a",
			Paths: []string{"/webhooks/0/clientConfig/caBundle", "/webhooks/1/clientConfig/caBundle"}}}, `webhooks:
- {name: w0, clientConfig: {url: "https://x"}}
- {name: w1, clientConfig: {}}
`},
		{"removing an item keeps the indexes of the others", []Ignore{{Paths: []string{"/webhooks/0", "/webhooks/1/name"}}}, `webhooks:
- {clientConfig: {caBundle: BBB}}
`},
		{"a rule selecting another kind", []Ignore{{Kind: "Deployment", Paths: []string{"/webhooks"}}}, `webhooks:
- {name: w0, clientConfig: {caBundle: AAA, url: "https://x"}}
- {name: w1, clientConfig: {caBundle: BBB}}
`},
		{"a field the object does not set", []Ignore{{Paths: []string{"/spec/replicas", "/webhooks/9/name"}}}, `webhooks:
- {name: w0, clientConfig: {caBundle: AAA, url: "https://x"}}
- {name: w1, clientConfig: {caBundle: BBB}}
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := parseObject(t, strings.Replace(webhook, "annotations: {", "annotations: {a/b: c, ", 1))
			ig, err := compileIgnores(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			if err := ig.strip(obj); err != nil {
				t.Fatal(err)
			}
			if got, want := obj.Object["webhooks"], parseObject(t, "kind: X\n"+tt.want).Object["webhooks"]; !reflect.DeepEqual(got, want) {
				t.Errorf("webhooks = %v, want %v", got, want)
			}
			if _, ok := obj.GetAnnotations()["a/b"]; ok {
				t.Error("the annotation's own pointer was not removed")
			}
		})
	}
}

func TestIgnoreRefusesWhatCannotBeIgnored(t *testing.T) {
	for _, rules := range [][]Ignore{
		{{Paths: []string{"spec/replicas"}}},
		{{Paths: []string{"/metadata/name"}}},
		{{Paths: []string{"/kind"}}},
		{{Name: "web(", Paths: []string{"/spec"}}},
		{{LabelSelector: "a in", Paths: []string{"/spec"}}},
	} {
		if err := CheckIgnores(rules); err == nil || !strings.HasPrefix(err.Error(), "[0]") {
			t.Errorf("%+v: %v, want an error naming rule [0]", rules, err)
		}
	}
	obj := parseObject(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {deploy.driftless.dev/ignore: data}\n")
	if err := ignorer(nil).strip(obj); err == nil || !strings.Contains(err.Error(), "ConfigMap") {
		t.Errorf("a bad annotation: %v, want an error naming the object", err)
	}
}

func parseObject(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		t.Fatal(err)
	}
	return obj
}
