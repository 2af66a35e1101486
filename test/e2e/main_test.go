// Package e2e runs end-to-end tests on one real local control plane per test
// binary: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kwok, started by internal/localcluster.
package e2e

import (
	"context"
	"fmt"
	"github.com/go-logr/logr"
	"os"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/localcluster"
	"github.com/driftless-dev/driftless/internal/render"
)

// The control plane and clients every test of the package shares.
var (
	cluster   *localcluster.Cluster
	cfg       *rest.Config
	k8s       client.Client
	clientset kubernetes.Interface
	scheme    = runtime.NewScheme()
)

func TestMain(m *testing.M) {
	render.MaybeServeSandbox() // the controller under test renders through this binary
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		if cluster != nil {
			cluster.Stop()
		}
		return 1
	}
	defer cluster.Stop()
	defer os.RemoveAll(built.dir)
	return m.Run()
}

func setup() error {
	// Tests assert on state, not on logs; DRIFTLESS_TEST_LOG=1 shows them.
	logger := logr.Discard()
	if os.Getenv("DRIFTLESS_TEST_LOG") != "" {
		logger = zap.New(zap.WriteTo(os.Stderr))
	}
	log.SetLogger(logger)
	ctx := context.Background()
	var err error
	if built.dir, err = os.MkdirTemp("", "driftless-e2e-bin-"); err != nil {
		return err
	}
	built.bins = map[string]string{}
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	opts := localcluster.DefaultOptions()
	opts.Nodes = 3 // room for a 100-Deployment release to surge (110 pods a node)
	if cluster, err = localcluster.Start(ctx, opts); err != nil {
		return err
	}
	if err := cluster.InstallCRDs(ctx, "../../config/crd"); err != nil {
		return err
	}
	cfg = cluster.RESTConfig()
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return err
	}
	clientset, err = kubernetes.NewForConfig(cfg)
	return err
}
