// Package apply is the only code of Driftless that writes arbitrary objects
// to the cluster: staged server-side apply, the inventory of what was
// applied, drift correction and prune.
//
// An object whose intent did not change since its last apply, and whose
// fields we manage were not taken by anyone else since, is not written at
// all: with the controller's informer cache the check makes no request, so
// a drift check costs a map lookup per object. Everything else is applied with server-side apply,
// field manager "driftless", conflicts forced.
package apply

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Owner names the AppSource that applies a set of objects; every applied
// object carries it as labels, and only objects that still carry it are
// ever pruned.
type Owner struct {
	Name, Namespace string
}

// Options configure one Apply, Prune or Diff.
type Options struct {
	// Owner is written as labels on every applied object.
	Owner Owner

	// Impersonate is the user the requests are made as, for example
	// "system:serviceaccount:team-a:deployer"; empty means the manager's own.
	Impersonate string

	// Ignore leaves fields of the selected objects out of what is applied
	// (see Ignore and IgnoreAnnotation).
	Ignore []Ignore

	// Concurrency bounds the requests in flight within a stage.
	Concurrency int

	// WaitTimeout bounds waiting for new CRDs to be established and for
	// recreated objects to be gone.
	WaitTimeout time.Duration

	// Progress, when set, is called after each object applied ("apply")
	// or deleted ("prune") with how many were done so far in that call:
	// the fault tests stop the process at a given count.
	Progress func(op string, done int)
}

// progress returns a counter that reports each object done of op to
// o.Progress; it does nothing without one.
func (o Options) progress(op string) func() {
	if o.Progress == nil {
		return func() {}
	}
	var mu sync.Mutex
	done := 0
	return func() {
		mu.Lock()
		defer mu.Unlock()
		done++
		o.Progress(op, done)
	}
}

// DefaultOptions applies with 16 requests in flight and waits up to a minute.
func DefaultOptions() Options {
	return Options{Concurrency: 16, WaitTimeout: time.Minute}
}

// Manager applies, prunes and diffs objects. It remembers what it applied
// so that a repeated apply of the same intent writes nothing; one Manager
// serves every AppSource.
type Manager struct {
	config *rest.Config
	mapper meta.RESTMapper
	cache  client.Reader // live objects, when not read from the API server

	mu      sync.Mutex
	clients map[string]client.Client // by impersonated user
	applied map[string]record        // by object ID
}

// scheme knows the typed objects the engine reads itself; everything it
// applies is unstructured.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	return s
}()

// FieldManager is the server-side apply field manager of every write.
const FieldManager = "driftless"

// NewManager returns a Manager that talks to the cluster of config. It reads
// the objects it is about to apply from cache, when not nil: the
// controller's informer cache, so that a drift check of unchanged objects
// makes no request at all. With a nil cache it reads them from the API
// server, one request per object.
//
// The cache is read with the controller's own permissions, also for an
// apply that impersonates: it only decides which writes to skip, and every
// write is made as the impersonated user.
func NewManager(config *rest.Config, cache client.Reader) (*Manager, error) {
	httpClient, err := rest.HTTPClientFor(config)
	if err != nil {
		return nil, err
	}
	mapper, err := apiutil.NewDynamicRESTMapper(config, httpClient)
	if err != nil {
		return nil, err
	}
	return &Manager{config: config, mapper: mapper, cache: cache, clients: map[string]client.Client{}, applied: map[string]record{}}, nil
}

// client returns the client acting as user, creating it once.
func (m *Manager) client(user string) (client.Client, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.clients[user]; ok {
		return c, nil
	}
	config := rest.CopyConfig(m.config)
	config.Impersonate.UserName = user
	var httpClient *http.Client
	httpClient, err := rest.HTTPClientFor(config)
	if err != nil {
		return nil, err
	}
	c, err := client.New(config, client.Options{HTTPClient: httpClient, Mapper: m.mapper, Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("client for %q: %w", user, err)
	}
	m.clients[user] = c
	return c, nil
}
