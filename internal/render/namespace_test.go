package render

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestSetNamespace(t *testing.T) {
	stream := ns + "---\n" + cmA + "---\n" +
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept, namespace: other}\n---\n" +
		"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\n---\n" +
		"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: gadgets.example.com}\n" +
		"spec: {group: example.com, scope: Cluster, names: {kind: Gadget, plural: gadgets}}\n---\n" +
		"apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n---\n" +
		"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\n" +
		"apiVersion: other.io/v1\nkind: Thing\nmetadata: {name: t}\n"
	discover := func(gk schema.GroupKind) (bool, error) {
		switch gk.Kind {
		case "Widget":
			return false, nil
		case "Thing":
			return false, errors.New("no matches for kind")
		}
		return !clusterScoped[gk], nil
	}
	want := map[string]string{
		"Namespace/team": "", "ConfigMap/a": "prod", "ConfigMap/kept": "other", "ClusterRole/reader": "",
		"CustomResourceDefinition/gadgets.example.com": "", "Gadget/g": "", "Widget/w": "", "Thing/t": "prod",
	}
	for name, discovery := range map[string]func(schema.GroupKind) (bool, error){"discovery": discover, "table": nil} {
		t.Run(name, func(t *testing.T) {
			objs, err := parseStream([]byte(stream), "m.yaml", DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			s := newScopes(objs, discovery)
			setNamespace(objs, "prod", s)
			for _, o := range objs {
				w := want[o.u.GetKind()+"/"+o.u.GetName()]
				if discovery == nil && o.u.GetKind() == "Widget" {
					w = "prod" // unknown to the table: namespaced
				}
				if got := o.u.GetNamespace(); got != w {
					t.Errorf("%s/%s namespace = %q, want %q", o.u.GetKind(), o.u.GetName(), got, w)
				}
			}
			if discovery != nil && (s.asked[schema.GroupKind{Group: "other.io", Kind: "Thing"}] != scopeUnknown) {
				t.Errorf("asked = %v, want Thing unknown", s.asked)
			}
		})
	}
}
