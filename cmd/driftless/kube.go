package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/controllers"
)

// scheme knows AppSources and the built-in kinds the controller reads.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	return s
}()

// kube is a connection to the cluster the kubeconfig flags name.
type kube struct {
	config    *rest.Config
	client    client.WithWatch
	namespace string // of -n, else the context's, else "default"
}

// connect loads the kubeconfig as kubectl does. Nothing is asked of the
// cluster yet: the first request tells whether it answers.
func (g *globals) connect() (*kube, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = g.kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: g.context}
	overrides.Context.Namespace = g.namespace
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	config, err := cc.ClientConfig()
	if clientcmd.IsEmptyConfig(err) {
		return nil, errors.New("no cluster configured: pass --kubeconfig, set KUBECONFIG or create ~/.kube/config")
	}
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	c, err := client.NewWithWatch(config, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", config.Host, err)
	}
	return &kube{config: config, client: c, namespace: ns}, nil
}

// key names the AppSource name in the current namespace.
func (k *kube) key(name string) client.ObjectKey {
	return client.ObjectKey{Namespace: k.namespace, Name: name}
}

// get reads one AppSource.
func (k *kube) get(ctx context.Context, key client.ObjectKey) (*v1alpha1.AppSource, error) {
	obj := &v1alpha1.AppSource{}
	if err := k.client.Get(ctx, key, obj); err != nil {
		return nil, k.explain(err, key)
	}
	return obj, nil
}

// explain turns the errors people meet most into what to do about them.
func (k *kube) explain(err error, key client.ObjectKey) error {
	var urlErr *url.Error
	var netErr *net.OpError
	switch {
	case apierrors.IsNotFound(err) && key.Name != "":
		return fmt.Errorf("AppSource %q not found in namespace %q: list them with 'driftless get -A'", key.Name, key.Namespace)
	case meta.IsNoMatchError(err):
		return fmt.Errorf("the cluster at %s has no AppSource API: install the CRDs of config/crd first", k.config.Host)
	case errors.As(err, &netErr):
		return fmt.Errorf("cannot reach the cluster at %s (%w): check --kubeconfig and --context", k.config.Host, netErr.Err)
	case errors.As(err, &urlErr):
		return fmt.Errorf("cannot reach the cluster at %s (%w): check --kubeconfig and --context", k.config.Host, urlErr.Err)
	}
	return err
}

// reconciler is the controller's reconciler, wired to this cluster for
// builds and diffs only: nothing is applied. Its Git cache lives in work.
func (k *kube) reconciler(work string) (*controllers.AppSourceReconciler, error) {
	c := controllers.DefaultConfig()
	c.WorkDir = work
	r, err := controllers.NewStandalone(k.config, k.client, c)
	if err != nil {
		return nil, k.explain(err, client.ObjectKey{})
	}
	return r, nil
}

// workDir is a private directory for one command, removed by the returned
// function: checkouts hold decrypted files.
func workDir() (string, func(), error) {
	dir, err := os.MkdirTemp("", "driftless-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// kinds are the words that name AppSources on the command line.
var kinds = map[string]bool{"appsource": true, "appsources": true, "appsrc": true,
	"appsource.deploy.driftless.dev": true, "appsources.deploy.driftless.dev": true}

// nameArg reads "NAME", "appsource NAME" or "appsource/NAME".
func nameArg(args []string) (string, error) {
	switch {
	case len(args) == 2 && kinds[strings.ToLower(args[0])]:
		return args[1], nil
	case len(args) == 1:
		kind, name, found := strings.Cut(args[0], "/")
		switch {
		case !found && !kinds[strings.ToLower(kind)]:
			return args[0], nil
		case found && kinds[strings.ToLower(kind)] && name != "":
			return name, nil
		}
	}
	return "", usagef("name one AppSource: NAME, appsource NAME or appsource/NAME")
}

// display names an AppSource in messages.
func display(key client.ObjectKey) string {
	return "AppSource " + key.Namespace + "/" + key.Name
}

// notFound is the API's own error for an AppSource that is not there.
func notFound(name string) error {
	return apierrors.NewNotFound(schema.GroupResource{Group: v1alpha1.GroupVersion.Group, Resource: "appsources"}, name)
}
