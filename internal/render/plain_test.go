package render

import (
	"context"
	"reflect"
	"testing"
)

func TestRenderPlain(t *testing.T) {
	root := tree{
		"app/b.yaml":          cmB,
		"app/a.yml":           cmA,
		"app/sub/ns.json":     `{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}`,
		"app/README.md":       "# not a manifest",
		"app/.github/ci.yaml": "on: push\n",
		"app/.hidden.yaml":    "not: an object\n",
		"app/linked@":         "../shared",
		"shared/secret.yaml":  "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n",
		"cycle/a.yaml":        cmA,
		"cycle/again@":        ".",
	}.write(t)
	c, err := openCheckout(context.Background(), root, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	objs, err := renderPlain(c, "app", DefaultLimits(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ConfigMap/a", "ConfigMap/b", "Secret/s", "Namespace/team"}
	if got := names(objs); !reflect.DeepEqual(got, want) {
		t.Fatalf("objects = %v, want %v", got, want)
	}
	if _, err := renderPlain(c, "cycle", DefaultLimits(), nil); err == nil {
		t.Fatal("a directory linking to itself: want an error")
	}
}
