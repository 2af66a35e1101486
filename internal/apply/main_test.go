package apply_test

import (
	"context"
	"fmt"
	"github.com/go-logr/logr"
	"os"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/driftless-dev/driftless/internal/apply"
	"github.com/driftless-dev/driftless/internal/localcluster"
)

// One API server (etcd and kube-apiserver, no workloads) for the package,
// and one informer cache that the Managers read live objects from, as the
// controller's do.
var (
	cluster *localcluster.Cluster
	cfg     *rest.Config
	k8s     client.Client
	live    cache.Cache
)

func TestMain(m *testing.M) {
	log.SetLogger(logr.Discard()) // tests assert on state, not on controller-runtime logs
	opts := localcluster.DefaultOptions()
	opts.Workloads = false
	var err error
	cluster, err = localcluster.Start(context.Background(), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start control plane:", err)
		os.Exit(1)
	}
	cfg = cluster.RESTConfig()
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if live, err = cache.New(cfg, cache.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := context.WithCancel(context.Background())
	go live.Start(ctx) //nolint:errcheck // returns when stopped
	live.WaitForCacheSync(ctx)
	code := m.Run()
	stop()
	cluster.Stop()
	os.Exit(code)
}

// newManager returns a Manager and options owning objects as AppSource owner/ns.
func newManager(t testing.TB, ns string) (*apply.Manager, apply.Options) {
	t.Helper()
	m, err := apply.NewManager(cfg, live)
	if err != nil {
		t.Fatal(err)
	}
	opts := apply.DefaultOptions()
	opts.Owner = apply.Owner{Name: "app", Namespace: ns}
	return m, opts
}

// objects parses YAML documents into objects.
func objects(t testing.TB, docs ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range docs {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(d), &obj.Object); err != nil {
			t.Fatalf("%v\n%s", err, d)
		}
		out = append(out, obj)
	}
	return out
}

// mustApply applies objs and fails the test on error.
func mustApply(t testing.TB, m *apply.Manager, objs []*unstructured.Unstructured, opts apply.Options) apply.ChangeSet {
	t.Helper()
	cs, err := m.Apply(context.Background(), objs, opts)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return cs
}

func namespace(name string) string {
	return fmt.Sprintf("{apiVersion: v1, kind: Namespace, metadata: {name: %s}}", name)
}

func configMap(ns, name, value string) string {
	return fmt.Sprintf("{apiVersion: v1, kind: ConfigMap, metadata: {name: %s, namespace: %s}, data: {key: %q}}", name, ns, value)
}

func entries(cs apply.ChangeSet) []apply.Entry {
	var out []apply.Entry
	for _, c := range cs {
		out = append(out, c.Entry)
	}
	return out
}
