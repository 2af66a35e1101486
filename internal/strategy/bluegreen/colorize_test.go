package bluegreen

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestOtherAndName(t *testing.T) {
	for _, tc := range []struct{ color, other, name string }{
		{Blue, Green, "web-blue"},
		{Green, Blue, "web-green"},
		{"", Blue, "web-"},
	} {
		if got := Other(tc.color); got != tc.other {
			t.Errorf("Other(%q) = %q, want %q", tc.color, got, tc.other)
		}
		if got := Name("web", tc.color); got != tc.name {
			t.Errorf("Name(web, %q) = %q, want %q", tc.color, got, tc.name)
		}
	}
}

// field is one expected value in the output of Colorize; nil means the field is absent.
type field struct {
	obj   string
	path  []interface{}
	value interface{}
}

func want(obj string, value interface{}, path ...interface{}) field {
	return field{obj: obj, path: path, value: value}
}

// theRelease stands for the release Colorize returned.
const theRelease = "<release>"

var (
	label    = []interface{}{"metadata", "labels", ColorLabel}
	podSpec  = []interface{}{"spec", "template", "spec"}
	volume0  = append(podSpec[:3:3], "volumes", 0)
	envOf    = func(list string, i int) []interface{} { return append(podSpec[:3:3], list, 0, "env", i, "valueFrom") }
	envFrom0 = func(i int) []interface{} { return append(podSpec[:3:3], "containers", 0, "envFrom", i) }
)

func path(prefix []interface{}, rest ...interface{}) []interface{} {
	return append(append([]interface{}{}, prefix...), rest...)
}

func TestColorize(t *testing.T) {
	blue := Options{Color: Blue, ActiveColor: Green, PreviewColor: Blue}
	for _, tc := range []struct {
		name   string
		objs   []*unstructured.Unstructured
		opts   Options
		want   []field
		absent []string // objects that must not be in the output
	}{{
		name: "a Deployment becomes its colour copy",
		objs: objects{deployment("web", with(m{"team": "a"}, "metadata", "labels"))},
		opts: Options{Color: Green},
		want: []field{
			want("Deployment/team-a/web-green", "green", label...),
			want("Deployment/team-a/web-green", "a", "metadata", "labels", "team"),
			want("Deployment/team-a/web-green", m{"app": "web", ColorLabel: "green"}, "spec", "selector", "matchLabels"),
			want("Deployment/team-a/web-green", m{"app": "web", ColorLabel: "green"}, "spec", "template", "metadata", "labels"),
			want("Deployment/team-a/web-green", theRelease, "metadata", "annotations", ReleaseAnnotation),
			want("Deployment/team-a/web-green", int64(2), "spec", "replicas"),
		},
		absent: []string{"Deployment/team-a/web"},
	}, {
		name: "a selector with matchExpressions only gets matchLabels",
		objs: objects{deployment("web", with(m{"matchExpressions": l{
			m{"key": "app", "operator": "In", "values": l{"web"}},
		}}, "spec", "selector"))},
		opts: blue,
		want: []field{
			want("Deployment/team-a/web-blue", m{ColorLabel: "blue"}, "spec", "selector", "matchLabels"),
			want("Deployment/team-a/web-blue", "app", "spec", "selector", "matchExpressions", 0, "key"),
		},
	}, {
		name: "replicas from the options, by namespace/name of the rendered Deployment",
		objs: objects{deployment("web"), deployment("api"), deployment("web", inNamespace("team-b"))},
		opts: Options{Color: Blue, Replicas: map[string]int32{"team-a/web": 7, "team-a/web-blue": 9}},
		want: []field{
			want("Deployment/team-a/web-blue", int64(7), "spec", "replicas"),
			want("Deployment/team-a/api-blue", int64(2), "spec", "replicas"),
			want("Deployment/team-b/web-blue", int64(2), "spec", "replicas"),
		},
	}, {
		name: "a ConfigMap volume uses the colour copy, placed beside the unchanged original",
		objs: objects{deployment("web", withVolume(configMapVolume("cfg"))), configMap("cfg")},
		opts: blue,
		want: []field{
			want("Deployment/team-a/web-blue", "cfg-blue", path(volume0, "configMap", "name")...),
			want("ConfigMap/team-a/cfg-blue", "blue", label...),
			want("ConfigMap/team-a/cfg-blue", m{"key": "value"}, "data"),
			want("ConfigMap/team-a/cfg", nil, label...),
		},
	}, {
		name: "a Secret volume uses the colour copy",
		objs: objects{deployment("web", withVolume(secretVolume("db"))), secret("db")},
		opts: blue,
		want: []field{
			want("Deployment/team-a/web-blue", "db-blue", path(volume0, "secret", "secretName")...),
			want("Secret/team-a/db-blue", "blue", label...),
			want("Secret/team-a/db-blue", m{"password": secretValue}, "stringData"),
			want("Secret/team-a/db", nil, label...),
		},
	}, {
		name: "projected volume sources use the colour copies",
		objs: objects{
			deployment("web", withVolume(m{"name": "all", "projected": m{"sources": l{
				m{"configMap": m{"name": "cfg"}},
				m{"secret": m{"name": "db"}},
				m{"serviceAccountToken": m{"path": "token"}},
			}}})),
			configMap("cfg"), secret("db"),
		},
		opts: blue,
		want: []field{
			want("Deployment/team-a/web-blue", "cfg-blue", path(volume0, "projected", "sources", 0, "configMap", "name")...),
			want("Deployment/team-a/web-blue", "db-blue", path(volume0, "projected", "sources", 1, "secret", "name")...),
			want("Deployment/team-a/web-blue", "token", path(volume0, "projected", "sources", 2, "serviceAccountToken", "path")...),
			want("ConfigMap/team-a/cfg-blue", "blue", label...),
			want("Secret/team-a/db-blue", "blue", label...),
		},
	}, {
		name: "env valueFrom of containers and init containers uses the colour copies",
		objs: objects{
			deployment("web",
				withEnv(
					m{"name": "A", "valueFrom": m{"configMapKeyRef": m{"name": "cfg", "key": "a"}}},
					m{"name": "B", "valueFrom": m{"secretKeyRef": m{"name": "db", "key": "password"}}},
					m{"name": "C", "value": "plain"},
				),
				withContainerField("initContainers", "env",
					m{"name": "D", "valueFrom": m{"secretKeyRef": m{"name": "db", "key": "password"}}}),
			),
			configMap("cfg"), secret("db"),
		},
		opts: blue,
		want: []field{
			want("Deployment/team-a/web-blue", "cfg-blue", path(envOf("containers", 0), "configMapKeyRef", "name")...),
			want("Deployment/team-a/web-blue", "db-blue", path(envOf("containers", 1), "secretKeyRef", "name")...),
			want("Deployment/team-a/web-blue", "db-blue", path(envOf("initContainers", 0), "secretKeyRef", "name")...),
			want("Deployment/team-a/web-blue", "plain", path(podSpec, "containers", 0, "env", 2, "value")...),
		},
	}, {
		name: "envFrom uses the colour copies",
		objs: objects{
			deployment("web", withEnvFrom(m{"configMapRef": m{"name": "cfg"}}, m{"secretRef": m{"name": "db"}, "prefix": "DB_"})),
			configMap("cfg"), secret("db"),
		},
		opts: blue,
		want: []field{
			want("Deployment/team-a/web-blue", "cfg-blue", path(envFrom0(0), "configMapRef", "name")...),
			want("Deployment/team-a/web-blue", "db-blue", path(envFrom0(1), "secretRef", "name")...),
			want("Deployment/team-a/web-blue", "DB_", path(envFrom0(1), "prefix")...),
		},
	}, {
		name: "references to objects outside the render, or in another namespace, are left alone",
		objs: objects{
			deployment("web", withVolume(configMapVolume("external")), withVolume(secretVolume("elsewhere"))),
			secret("elsewhere", inNamespace("team-b")),
		},
		opts: blue,
		want: []field{
			want("Deployment/team-a/web-blue", "external", path(volume0, "configMap", "name")...),
			want("Deployment/team-a/web-blue", "elsewhere", path(podSpec, "volumes", 1, "secret", "secretName")...),
			want("Secret/team-b/elsewhere", nil, label...),
		},
		absent: []string{"ConfigMap/team-a/external-blue", "Secret/team-b/elsewhere-blue", "Secret/team-a/elsewhere-blue"},
	}, {
		name: "a config used by two Deployments is copied once, and a config no Deployment uses is not copied",
		objs: objects{
			deployment("web", withVolume(configMapVolume("shared"))),
			deployment("api", withEnvFrom(m{"configMapRef": m{"name": "shared"}})),
			configMap("shared"), configMap("unused"),
		},
		opts: blue,
		want: []field{
			want("Deployment/team-a/web-blue", "shared-blue", path(volume0, "configMap", "name")...),
			want("Deployment/team-a/api-blue", "shared-blue", path(envFrom0(0), "configMapRef", "name")...),
			want("ConfigMap/team-a/unused", nil, label...),
		},
		absent: []string{"ConfigMap/team-a/unused-blue"},
	}, {
		name: "active and preview Services select their colours, in every namespace; others are left alone",
		objs: objects{
			service("web"), service("web", inNamespace("team-b")), service("web-preview"), service("other"),
		},
		opts: Options{Color: Green, ActiveColor: Blue, PreviewColor: Green,
			ActiveServices: []string{"web", "web"}, PreviewServices: []string{"web-preview"}},
		want: []field{
			want("Service/team-a/web", m{"app": "web", ColorLabel: "blue"}, "spec", "selector"),
			want("Service/team-b/web", m{"app": "web", ColorLabel: "blue"}, "spec", "selector"),
			want("Service/team-a/web-preview", m{"app": "web-preview", ColorLabel: "green"}, "spec", "selector"),
			want("Service/team-a/other", m{"app": "other"}, "spec", "selector"),
		},
	}, {
		name: "an autoscaler of a rendered Deployment follows the active colour, in v2 and v1",
		objs: objects{
			deployment("web"), deployment("api"), deployment("db", inNamespace("team-b")),
			autoscaler("v2", "web"),
			autoscaler("v1", "api"),
			autoscaler("v2", "db"),       // the Deployment db is in another namespace
			autoscaler("v2", "external"), // no such Deployment in the render
			autoscaler("v2", "web", inNamespace("team-c"), with("cache", "metadata", "name")),
			autoscaler("v2", "stateful", with("StatefulSet", "spec", "scaleTargetRef", "kind")),
		},
		opts: Options{Color: Green, ActiveColor: Blue},
		want: []field{
			want("HorizontalPodAutoscaler/team-a/web", "web-blue", "spec", "scaleTargetRef", "name"),
			want("HorizontalPodAutoscaler/team-a/api", "api-blue", "spec", "scaleTargetRef", "name"),
			want("HorizontalPodAutoscaler/team-a/db", "db", "spec", "scaleTargetRef", "name"),
			want("HorizontalPodAutoscaler/team-a/external", "external", "spec", "scaleTargetRef", "name"),
			want("HorizontalPodAutoscaler/team-c/cache", "web", "spec", "scaleTargetRef", "name"),
			want("HorizontalPodAutoscaler/team-a/stateful", "stateful", "spec", "scaleTargetRef", "name"),
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			out, release := mustColorize(t, tc.objs, tc.opts)
			for _, w := range tc.want {
				obj := find(out, w.obj)
				if obj == nil {
					t.Fatalf("%s is not in the output %v", w.obj, ids(out))
				}
				if w.value == theRelease {
					w.value = release
				}
				if got := at(obj, w.path...); !reflect.DeepEqual(got, w.value) {
					t.Errorf("%s%s = %#v, want %#v", w.obj, pathString(w.path), got, w.value)
				}
			}
			for _, id := range tc.absent {
				if find(out, id) != nil {
					t.Errorf("%s is in the output %v", id, ids(out))
				}
			}
		})
	}
}

func TestColorizeKeepsOrderAndPlacesCopiesAfterOriginals(t *testing.T) {
	objs := objects{
		configMap("cfg"),
		service("web"),
		deployment("web", withVolume(configMapVolume("cfg")), withVolume(secretVolume("db"))),
		secret("db"),
		configMap("unrelated"),
		autoscaler("v2", "web"),
	}
	out, _ := mustColorize(t, objs, Options{Color: Green, ActiveColor: Blue, ActiveServices: []string{"web"}})
	wantIDs := []string{
		"ConfigMap/team-a/cfg", "ConfigMap/team-a/cfg-green",
		"Service/team-a/web",
		"Deployment/team-a/web-green",
		"Secret/team-a/db", "Secret/team-a/db-green",
		"ConfigMap/team-a/unrelated",
		"HorizontalPodAutoscaler/team-a/web",
	}
	if got := ids(out); !reflect.DeepEqual(got, wantIDs) {
		t.Errorf("output = %v, want %v", got, wantIDs)
	}
}

func TestColorizeDoesNotModifyItsInput(t *testing.T) {
	objs := objects{
		deployment("web",
			withVolume(configMapVolume("cfg")),
			withVolume(m{"name": "p", "projected": m{"sources": l{m{"secret": m{"name": "db"}}}}}),
			withEnv(m{"name": "A", "valueFrom": m{"configMapKeyRef": m{"name": "cfg", "key": "a"}}}),
			withEnvFrom(m{"secretRef": m{"name": "db"}})),
		configMap("cfg"), secret("db"), service("web"), service("preview"), autoscaler("v2", "web"),
	}
	before := deepCopyAll(objs)
	out, _ := mustColorize(t, objs, Options{Color: Blue, ActiveColor: Green, PreviewColor: Blue,
		ActiveServices: []string{"web"}, PreviewServices: []string{"preview"},
		Replicas: map[string]int32{"team-a/web": 5}})
	if !reflect.DeepEqual(objs, before) {
		t.Fatal("Colorize modified its input")
	}
	// The output shares nothing with the input: changing it leaves the input as it was.
	for _, obj := range out {
		visitRefs(obj.Object, func(_, name string) string { return name + "-changed" })
		obj.SetLabels(map[string]string{"changed": "yes"})
		_ = unstructured.SetNestedField(obj.Object, "changed", "spec", "selector", "changed")
		_ = unstructured.SetNestedField(obj.Object, "changed", "spec", "scaleTargetRef", "name")
	}
	if !reflect.DeepEqual(objs, before) {
		t.Fatal("the output of Colorize shares data with its input")
	}
}

func TestColorizeErrors(t *testing.T) {
	usesDB := withVolume(secretVolume("db"))
	for _, tc := range []struct {
		name string
		objs []*unstructured.Unstructured
		opts Options
		want []string // substrings of the error
	}{
		{"no colour", nil, Options{}, []string{`color "" is neither "blue" nor "green"`}},
		{"unknown colour", nil, Options{Color: "red"}, []string{`color "red"`}},
		{
			"active Service not in the render",
			objects{service("api")},
			Options{Color: Blue, ActiveColor: Blue, ActiveServices: []string{"web"}},
			[]string{`activeServices: Service "web" is not in the render`},
		}, {
			"preview Service not in the render",
			objects{service("web"), deployment("web-preview")},
			Options{Color: Blue, ActiveColor: Green, PreviewColor: Blue,
				ActiveServices: []string{"web"}, PreviewServices: []string{"web-preview"}},
			[]string{`previewServices: Service "web-preview" is not in the render`},
		}, {
			"a Service in both lists",
			objects{service("web")},
			Options{Color: Blue, ActiveColor: Green, PreviewColor: Blue,
				ActiveServices: []string{"web"}, PreviewServices: []string{"web"}},
			[]string{`activeServices and previewServices both name Service "web"`},
		}, {
			"a named Service without a selector",
			objects{service("web", without("spec", "selector"))},
			Options{Color: Blue, ActiveColor: Blue, ActiveServices: []string{"web"}},
			[]string{"Service/team-a/web: has no selector"},
		}, {
			"active Services without an active colour",
			objects{service("web")},
			Options{Color: Blue, ActiveServices: []string{"web"}},
			[]string{`activeColor "" is neither`},
		}, {
			"preview Services with an unknown preview colour",
			objects{service("web")},
			Options{Color: Blue, PreviewColor: "teal", PreviewServices: []string{"web"}},
			[]string{`previewColor "teal" is neither`},
		}, {
			"an autoscaler of a Deployment without an active colour",
			objects{deployment("web"), autoscaler("v2", "web")},
			Options{Color: Blue},
			[]string{"HorizontalPodAutoscaler/team-a/web", `activeColor ""`},
		}, {
			"the render already has the Deployment's copy",
			objects{deployment("web"), deployment("web-blue")},
			Options{Color: Blue},
			[]string{"Deployment/team-a/web:", "Deployment/team-a/web-blue"},
		}, {
			"the render already has the copy of the other colour",
			objects{deployment("web"), deployment("web-green")},
			Options{Color: Blue},
			[]string{"Deployment/team-a/web:", "green copy", "Deployment/team-a/web-green"},
		}, {
			"the render already has a config's copy",
			objects{deployment("web", usesDB), secret("db"), secret("db-blue")},
			Options{Color: Blue},
			[]string{"Secret/team-a/db:", "Secret/team-a/db-blue"},
		}, {
			"a Deployment without a selector",
			objects{deployment("web", without("spec", "selector"))},
			Options{Color: Blue},
			[]string{"Deployment/team-a/web: has no spec.selector"},
		}, {
			"a Secret whose labels are not a map",
			objects{deployment("web", usesDB), secret("db", with(secretValue, "metadata", "labels"))},
			Options{Color: Blue},
			[]string{"Secret/team-a/db: add the colour label"},
		}, {
			"a Secret that is not plain JSON",
			objects{deployment("web", usesDB), secret("db", func(u *unstructured.Unstructured) {
				u.Object["data"] = m{"password": secretValue, "bad": make(chan int)}
			})},
			Options{Color: Blue},
			[]string{"Secret/team-a/db: encode for the release hash"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Every case carries a Secret, so that no error may quote its value.
			objs := append(tc.objs, secret("unrelated"))
			out, _, err := Colorize(objs, tc.opts)
			if err == nil {
				t.Fatalf("Colorize succeeded with %v, want an error", ids(out))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Errorf("error %q contains a Secret's value", err)
			}
		})
	}
}
