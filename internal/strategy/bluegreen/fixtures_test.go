package bluegreen

import (
	"fmt"
	"strconv"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ns is the namespace of every fixture unless inNamespace says otherwise.
const ns = "team-a"

// secretValue is in every fixture Secret; no error may ever contain it.
const secretValue = "s3cr3t-hunter2"

// objects is a render, as Colorize takes it.
type objects = []*unstructured.Unstructured

type m = map[string]interface{}
type l = []interface{}

type option func(*unstructured.Unstructured)

func object(apiVersion, kind, name string, spec m, opts ...option) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: m{
		"apiVersion": apiVersion,
		"kind":       kind,
		"metadata":   m{"name": name, "namespace": ns},
	}}
	if spec != nil {
		u.Object["spec"] = spec
	}
	for _, o := range opts {
		o(u)
	}
	return u
}

func deployment(name string, opts ...option) *unstructured.Unstructured {
	return object("apps/v1", "Deployment", name, m{
		"replicas": int64(2),
		"selector": m{"matchLabels": m{"app": name}},
		"template": m{
			"metadata": m{"labels": m{"app": name}},
			"spec":     m{"containers": l{m{"name": "app", "image": name + ":1"}}},
		},
	}, opts...)
}

func configMap(name string, opts ...option) *unstructured.Unstructured {
	cm := object("v1", "ConfigMap", name, nil, opts...)
	if cm.Object["data"] == nil {
		cm.Object["data"] = m{"key": "value"}
	}
	return cm
}

func secret(name string, opts ...option) *unstructured.Unstructured {
	s := object("v1", "Secret", name, nil, opts...)
	if s.Object["stringData"] == nil {
		s.Object["stringData"] = m{"password": secretValue}
	}
	return s
}

func service(name string, opts ...option) *unstructured.Unstructured {
	return object("v1", "Service", name, m{"selector": m{"app": name}}, opts...)
}

func autoscaler(apiVersion, target string, opts ...option) *unstructured.Unstructured {
	return object("autoscaling/"+apiVersion, "HorizontalPodAutoscaler", target, m{
		"scaleTargetRef": m{"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
	}, opts...)
}

func inNamespace(namespace string) option {
	return func(u *unstructured.Unstructured) { u.SetNamespace(namespace) }
}

// with sets a field, creating the maps on its path.
func with(value interface{}, path ...string) option {
	return func(u *unstructured.Unstructured) {
		if err := unstructured.SetNestedField(u.Object, value, path...); err != nil {
			panic(err)
		}
	}
}

// without removes a field.
func without(path ...string) option {
	return func(u *unstructured.Unstructured) { unstructured.RemoveNestedField(u.Object, path...) }
}

func withVolume(volume m) option {
	return func(u *unstructured.Unstructured) {
		pod := mapAt(u.Object, "spec", "template", "spec")
		pod["volumes"] = append(sliceAt(pod, "volumes"), volume)
	}
}

// withContainerField appends to a list field of the first container ("containers") or of a
// new init container ("initContainers").
func withContainerField(list, field string, items ...interface{}) option {
	return func(u *unstructured.Unstructured) {
		pod := mapAt(u.Object, "spec", "template", "spec")
		if len(sliceAt(pod, list)) == 0 {
			pod[list] = l{m{"name": list}}
		}
		c := asMap(sliceAt(pod, list)[0])
		c[field] = append(sliceAt(c, field), items...)
	}
}

func withEnv(items ...interface{}) option { return withContainerField("containers", "env", items...) }

func withEnvFrom(items ...interface{}) option {
	return withContainerField("containers", "envFrom", items...)
}

func configMapVolume(name string) m { return m{"name": "v-" + name, "configMap": m{"name": name}} }
func secretVolume(name string) m    { return m{"name": "v-" + name, "secret": m{"secretName": name}} }

// at reads a field of obj; an int in path indexes a list. It returns nil when the field is
// missing.
func at(obj *unstructured.Unstructured, path ...interface{}) interface{} {
	var v interface{} = obj.Object
	for _, p := range path {
		switch p := p.(type) {
		case string:
			v = asMap(v)[p]
		case int:
			s, _ := v.([]interface{})
			if p >= len(s) {
				return nil
			}
			v = s[p]
		}
	}
	return v
}

// find returns the object of out named like errors name objects (Kind/namespace/name).
func find(out []*unstructured.Unstructured, id string) *unstructured.Unstructured {
	for _, obj := range out {
		if idOf(obj).String() == id {
			return obj
		}
	}
	return nil
}

func ids(objs []*unstructured.Unstructured) []string {
	s := make([]string, len(objs))
	for i, obj := range objs {
		s[i] = idOf(obj).String()
	}
	return s
}

func deepCopyAll(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, obj := range objs {
		out[i] = obj.DeepCopy()
	}
	return out
}

func mustColorize(t *testing.T, objs objects, opts Options) (objects, string) {
	t.Helper()
	out, release, err := Colorize(objs, opts)
	if err != nil {
		t.Fatalf("Colorize: %v", err)
	}
	return out, release
}

// pathString shows a path of at for messages.
func pathString(path []interface{}) string {
	s := ""
	for _, p := range path {
		if i, ok := p.(int); ok {
			s += "[" + strconv.Itoa(i) + "]"
			continue
		}
		s += fmt.Sprintf(".%v", p)
	}
	return s
}
