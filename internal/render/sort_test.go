package render

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestSort(t *testing.T) {
	mk := func(kind, name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetKind(kind)
		u.SetName(name)
		return u
	}
	objs := []*unstructured.Unstructured{
		mk("ValidatingWebhookConfiguration", "hook"), mk("Deployment", "web"), mk("Widget", "w"),
		mk("Service", "web"), mk("ConfigMap", "b"), mk("Namespace", "team"), mk("ConfigMap", "a"),
		mk("CustomResourceDefinition", "widgets"), mk("ClusterRole", "reader"), mk("Ingress", "web"),
	}
	Sort(objs)
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
	}
	want := []string{
		"CustomResourceDefinition/widgets", "Namespace/team", "ClusterRole/reader", "ConfigMap/b", "ConfigMap/a",
		"Service/web", "Deployment/web", "Widget/w", "Ingress/web", "ValidatingWebhookConfiguration/hook",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Sort = %v\nwant %v", got, want)
	}
}
