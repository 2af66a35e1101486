package render

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// overlayTree is a kustomize overlay whose base lives elsewhere in the
// checkout, beside an unrelated application.
var overlayTree = tree{
	"overlays/prod/kustomization.yaml": kust("resources:\n- ../../base\nnamePrefix: prod-\n"),
	"base/kustomization.yaml":          kust("resources: [cm.yaml]\n"),
	"base/cm.yaml":                     cmA,
	"other/a.yaml":                     cmB,
}

func TestCacheServesSameInputs(t *testing.T) {
	cache := NewCache(8)
	root := overlayTree.write(t)
	opts := Options{Root: root, Path: "overlays/prod", Cache: cache}
	first, err := Render(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	first[0].SetName("changed by the caller")
	steps := []struct {
		name   string
		change func(root string) string
		hit    bool
	}{
		{"same inputs", func(root string) string { return root }, true},
		{"another path changed", func(root string) string {
			write(t, root, "other/a.yaml", cmA)
			write(t, root, "other/new.yaml", cmB)
			return root
		}, true},
		{"same files in another checkout", func(string) string { return overlayTree.write(t) }, true},
		{"base file changed", func(root string) string { write(t, root, "base/cm.yaml", cmA+"data:\n  k: v2\n"); return root }, false},
		{"file added to the base", func(root string) string { write(t, root, "base/Kustomization", "resources: []\n"); return root }, false},
	}
	want := Stats{}
	want.Misses = 1
	for _, s := range steps {
		root = s.change(root)
		opts.Root = root
		got, err := Render(context.Background(), opts)
		if s.hit {
			want.Hits++
		} else {
			want.Misses++
		}
		if st := cache.Stats(); st.Hits != want.Hits || st.Misses != want.Misses {
			t.Fatalf("%s: stats %+v, want hits %d misses %d", s.name, st, want.Hits, want.Misses)
		}
		if s.hit && (err != nil || got[0].GetName() != "prod-a") {
			t.Fatalf("%s: got %v, %v; want the cached, unchanged render", s.name, kinds(got), err)
		}
	}
}

// Stats mirrors CacheStats for the table above.
type Stats = CacheStats

func write(t *testing.T, root, name, data string) {
	t.Helper()
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCacheKeysOnOptions(t *testing.T) {
	cache := NewCache(8)
	root := tree{"chart/Chart.yaml": chartYAML, "chart/templates/cm.yaml": chartCM}.write(t)
	opts := Options{Root: root, Path: "chart", Cache: cache, Helm: HelmOptions{ReleaseName: "r", Values: map[string]any{"v": "1"}}}
	for i, change := range []func(*Options){
		func(*Options) {},
		func(o *Options) { o.Helm.Values = map[string]any{"v": "2"} },
		func(o *Options) { o.Helm.ValuesFrom = []ValuesSource{{Data: []byte("v: 3\n")}} },
		func(o *Options) { o.TargetNamespace = "prod" },
		func(o *Options) { o.Capabilities.KubeVersion = "v1.30.0" },
	} {
		change(&opts)
		if _, err := Render(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		if st := cache.Stats(); st.Misses != i+1 || st.Hits != 0 {
			t.Fatalf("change %d: stats %+v, want every change rendered", i, st)
		}
	}
}

func TestCacheRemembersFailures(t *testing.T) {
	cache := NewCache(8)
	root := tree{"app/a.yaml": "kind: [\n"}.write(t)
	opts := Options{Root: root, Path: "app", Cache: cache}
	_, err1 := Render(context.Background(), opts)
	_, err2 := Render(context.Background(), opts)
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() || cache.Stats().Hits != 1 {
		t.Fatalf("errors %v, %v; stats %+v: want the failure served from the cache", err1, err2, cache.Stats())
	}
}

func TestCacheProvesDiscovery(t *testing.T) {
	cache := NewCache(8)
	root := tree{"app/w.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"}.write(t)
	namespaced := true
	opts := Options{Root: root, Path: "app", Cache: cache, TargetNamespace: "prod",
		IsNamespaced: func(schema.GroupKind) (bool, error) { return namespaced, nil }}
	first, _ := Render(context.Background(), opts)
	namespaced = false
	second, _ := Render(context.Background(), opts)
	if first[0].GetNamespace() != "prod" || second[0].GetNamespace() != "" || cache.Stats().Hits != 0 {
		t.Fatalf("namespaces %q, %q, stats %+v: a changed discovery answer must render again",
			first[0].GetNamespace(), second[0].GetNamespace(), cache.Stats())
	}
}

func TestCacheConcurrentRendersRenderOnce(t *testing.T) {
	cache := NewCache(8)
	root := overlayTree.write(t)
	var wg sync.WaitGroup
	results := make([][]string, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			objs, err := Render(context.Background(), Options{Root: root, Path: "overlays/prod", Cache: cache})
			if err == nil {
				results[i] = kinds(objs)
			}
		}()
	}
	wg.Wait()
	for _, r := range results {
		if !reflect.DeepEqual(r, results[0]) || r == nil {
			t.Fatalf("results differ: %v", results)
		}
	}
	if st := cache.Stats(); st.Misses != 1 || st.Hits != 7 {
		t.Fatalf("stats %+v, want one render and seven hits", st)
	}
}

func TestCacheEvicts(t *testing.T) {
	cache := NewCache(2)
	root := tree{"a/a.yaml": cmA, "b/b.yaml": cmB, "c/ns.yaml": ns}.write(t)
	for _, p := range []string{"a", "b", "c", "a"} {
		if _, err := Render(context.Background(), Options{Root: root, Path: p, Cache: cache}); err != nil {
			t.Fatal(err)
		}
	}
	if st := cache.Stats(); st.Entries != 2 || st.Misses != 4 {
		t.Fatalf("stats %+v, want 2 entries and \"a\" evicted", st)
	}
}
