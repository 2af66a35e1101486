package bluegreen

import (
	"reflect"
	"regexp"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// release fixture: a Deployment using a ConfigMap and a Secret, beside objects the release does
// not cover.
func releaseFixture(change map[string]option) []*unstructured.Unstructured {
	opt := func(name string) []option {
		if o := change[name]; o != nil {
			return []option{o}
		}
		return nil
	}
	return objects{
		deployment("web", append(opt("web"),
			withVolume(configMapVolume("cfg")),
			withVolume(m{"name": "p", "projected": m{"sources": l{m{"configMap": m{"name": "extra"}}}}}),
			withEnvFrom(m{"secretRef": m{"name": "db"}}))...),
		configMap("cfg", opt("cfg")...),
		configMap("extra", opt("extra")...),
		secret("db", opt("db")...),
		configMap("unrelated", opt("unrelated")...),
		configMap("cfg", append(opt("cfg in team-b"), inNamespace("team-b"))...),
		service("web", opt("service")...),
		autoscaler("v2", "web", opt("autoscaler")...),
	}
}

func releaseOf(t *testing.T, objs []*unstructured.Unstructured, opts Options) string {
	t.Helper()
	_, release := mustColorize(t, objs, opts)
	return release
}

func TestReleaseIsTheSameForBothColours(t *testing.T) {
	objs := releaseFixture(nil)
	base := releaseOf(t, objs, Options{Color: Blue, ActiveColor: Blue})
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(base) {
		t.Fatalf("release %q is not 16 hex digits", base)
	}
	for _, opts := range []Options{
		{Color: Green, ActiveColor: Blue, PreviewColor: Green, ActiveServices: []string{"web"}},
		{Color: Green, ActiveColor: Green, PreviewColor: Blue, PreviewServices: []string{"web"}},
		{Color: Blue, ActiveColor: Green, Replicas: map[string]int32{"team-a/web": 11}},
	} {
		if got := releaseOf(t, objs, opts); got != base {
			t.Errorf("release with %+v = %s, want %s", opts, got, base)
		}
	}
	if got, err := Release(objs); err != nil || got != base {
		t.Errorf("Release = %s, %v; want %s, as Colorize gives", got, err, base)
	}
	reversed := make([]*unstructured.Unstructured, len(objs))
	for i, obj := range objs {
		reversed[len(objs)-1-i] = obj
	}
	if got := releaseOf(t, reversed, Options{Color: Green, ActiveColor: Green}); got != base {
		t.Errorf("release of the objects in another order = %s, want %s", got, base)
	}
}

func TestReleaseChangesWithWorkloadsAndTheirConfig(t *testing.T) {
	opts := Options{Color: Blue, ActiveColor: Green}
	base := releaseOf(t, releaseFixture(nil), opts)
	for _, tc := range []struct {
		name    string
		change  map[string]option
		changes bool
	}{
		{"a container's args", map[string]option{"web": withContainerField("containers", "args", "--debug")}, true},
		{"the rendered replicas", map[string]option{"web": with(int64(3), "spec", "replicas")}, true},
		{"a ConfigMap volume's data", map[string]option{"cfg": with(m{"key": "other"}, "data")}, true},
		{"a projected ConfigMap's data", map[string]option{"extra": with(m{"key": "other"}, "data")}, true},
		{"a Secret's data", map[string]option{"db": with(m{"password": "new"}, "stringData")}, true},
		{"an unrelated ConfigMap", map[string]option{"unrelated": with(m{"key": "other"}, "data")}, false},
		{"a ConfigMap of the same name in another namespace",
			map[string]option{"cfg in team-b": with(m{"key": "other"}, "data")}, false},
		{"a Service's selector", map[string]option{"service": with(m{"app": "other"}, "spec", "selector")}, false},
		{"an autoscaler", map[string]option{"autoscaler": with(int64(9), "spec", "maxReplicas")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := releaseOf(t, releaseFixture(tc.change), opts)
			if changed := got != base; changed != tc.changes {
				t.Errorf("release changed: %v, want %v (%s → %s)", changed, tc.changes, base, got)
			}
		})
	}
}

func TestWorkloads(t *testing.T) {
	objs := objects{
		deployment("web", inNamespace("team-b")),
		service("web"),
		deployment("web"),
		deployment("api"),
		object("apps/v1", "StatefulSet", "db", nil),
		object("extensions/v1beta1", "Deployment", "old", nil),
	}
	wantKeys := []string{"team-a/api", "team-a/web", "team-b/web"}
	if got := Workloads(objs); !reflect.DeepEqual(got, wantKeys) {
		t.Errorf("Workloads = %v, want %v", got, wantKeys)
	}
	if got := Workloads(nil); len(got) != 0 {
		t.Errorf("Workloads(nil) = %v, want none", got)
	}
}
