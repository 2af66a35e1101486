package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options configure a local control plane.
type Options struct {
	// BinDir holds the binaries; empty means FindBinaries.
	BinDir string

	// Dir is where certificates, data, logs and the kubeconfig go. Empty means
	// a fresh temporary directory, removed by Stop; a given Dir is kept.
	Dir string

	// Workloads also starts kube-controller-manager, kube-scheduler and kwok
	// with fake nodes, so Deployments roll and pods become Ready.
	Workloads bool

	// Nodes is the number of fake nodes when Workloads is set.
	Nodes int

	// StartTimeout bounds Start.
	StartTimeout time.Duration

	// StopGrace is how long each process may take to exit after SIGTERM
	// before it is killed.
	StopGrace time.Duration
}

// DefaultOptions is a control plane with workloads on one fake node.
func DefaultOptions() Options {
	return Options{Workloads: true, Nodes: 1, StartTimeout: 3 * time.Minute, StopGrace: 5 * time.Second}
}

// Cluster is a running local control plane.
type Cluster struct {
	// Dir holds the kubeconfig, certificates, data and logs/<process>.log.
	Dir string
	// Kubeconfig is the path of an admin kubeconfig.
	Kubeconfig string

	opts     Options
	pki      *pki
	config   *rest.Config
	procs    []*process // in start order; stopped in reverse
	stopOnce sync.Once
	apiArgs  []string                        // kube-apiserver's flags, to start it again
	apiReady func(ctx context.Context) error // kube-apiserver's readiness
	kwok     *process                        // with Workloads
	nodes    int                             // fake nodes made
}

// Start builds nothing and downloads nothing: it starts the binaries of
// opts.BinDir and returns once the API server is ready and, with Workloads,
// the fake nodes are Ready and schedulable. On error nothing is left running.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = DefaultOptions().StartTimeout
	}
	if opts.StopGrace == 0 {
		opts.StopGrace = DefaultOptions().StopGrace
	}
	if opts.BinDir == "" {
		if opts.BinDir, err = FindBinaries(); err != nil {
			return nil, err
		}
	}
	c := &Cluster{opts: opts, Dir: opts.Dir}
	if c.Dir == "" {
		removeOrphanedDirs()
		if c.Dir, err = os.MkdirTemp("", fmt.Sprintf("%s%d-", tempPrefix, os.Getpid())); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	if err := c.startAPI(ctx); err != nil {
		return nil, err
	}
	if opts.Workloads {
		if err := c.startWorkloads(ctx); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// startAPI starts etcd and kube-apiserver and writes the kubeconfig.
func (c *Cluster) startAPI(ctx context.Context) error {
	for _, d := range []string{"logs", "pki", "etcd"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o700); err != nil {
			return err
		}
	}
	p, err := newPKI(filepath.Join(c.Dir, "pki"))
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	c.pki = p
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	etcdURL := "http://127.0.0.1:" + itoa(ports[0])
	etcd, err := c.start("etcd", etcdArgs(c.Dir, etcdURL, ports[1]))
	if err != nil {
		return err
	}
	if err := etcd.waitFor(ctx, "health", httpOK(http.DefaultClient, etcdURL+"/health")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "audit-policy.yaml"), []byte(auditPolicy), 0o600); err != nil {
		return err
	}
	c.apiArgs = apiserverArgs(c.Dir, p, etcdURL, ports[2])
	api, err := c.start("kube-apiserver", c.apiArgs)
	if err != nil {
		return err
	}
	c.config = &rest.Config{
		Host: "https://127.0.0.1:" + itoa(ports[2]),
		TLSClientConfig: rest.TLSClientConfig{
			CAData: p.caPEM, CertData: p.adminCertPEM, KeyData: p.adminKeyPEM,
		},
		// The server's priority and fairness protects it; tests and the
		// manager must not be slowed by a client-side limit.
		QPS: -1,
	}
	client, err := kubernetes.NewForConfig(c.config)
	if err != nil {
		return err
	}
	c.apiReady = func(ctx context.Context) error {
		return client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
	}
	if err := api.waitFor(ctx, "readyz", c.apiReady); err != nil {
		return err
	}
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	return writeKubeconfig(c.Kubeconfig, c.config)
}

// KillAPIServer kills kube-apiserver with SIGKILL, as a crash or a node
// loss would end it, and returns once it is gone; etcd keeps the data.
func (c *Cluster) KillAPIServer() {
	for _, p := range c.procs {
		if p.name == "kube-apiserver" && p.exited() == nil {
			p.kill()
		}
	}
}

// PauseAPIServer stops kube-apiserver with SIGSTOP: it holds its
// connections and answers nothing, as a server that hangs would, until
// ResumeAPIServer.
func (c *Cluster) PauseAPIServer() { c.signalAPIServer(syscall.SIGSTOP) }

// ResumeAPIServer continues kube-apiserver after PauseAPIServer.
func (c *Cluster) ResumeAPIServer() { c.signalAPIServer(syscall.SIGCONT) }

func (c *Cluster) signalAPIServer(sig syscall.Signal) {
	for _, p := range c.procs {
		if p.name == "kube-apiserver" && p.exited() == nil {
			_ = syscall.Kill(-p.cmd.Process.Pid, sig)
		}
	}
}

// StartAPIServer starts kube-apiserver again, on the same address with the
// same flags, after KillAPIServer, and returns once it is ready.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	api, err := c.start("kube-apiserver", c.apiArgs)
	if err != nil {
		return err
	}
	return api.waitFor(ctx, "readyz", c.apiReady)
}

// start runs one binary of BinDir and tracks it for Stop.
func (c *Cluster) start(name string, args []string) (*process, error) {
	p, err := start(name, filepath.Join(c.opts.BinDir, name), args, c.Dir)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

// AuditLog is the path of the API server's audit log: one JSON event per
// line (audit.k8s.io/v1), each request at the Metadata level (who, what,
// which object; never a body), written when the response completes.
func (c *Cluster) AuditLog() string { return filepath.Join(c.Dir, "logs", "audit.log") }

// PIDs returns the process IDs of the running control plane processes.
func (c *Cluster) PIDs() []int {
	var pids []int
	for _, p := range c.procs {
		pids = append(pids, p.cmd.Process.Pid)
	}
	return pids
}

// RESTConfig returns a new admin client configuration.
func (c *Cluster) RESTConfig() *rest.Config {
	return rest.CopyConfig(c.config)
}

// Stop stops every process, the API server before etcd, and removes a
// temporary Dir. It is safe to call more than once.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		var wg sync.WaitGroup
		// Controllers and kwok first, together; then the API server, which
		// can ignore SIGTERM for long once etcd is gone; etcd last.
		for i := len(c.procs) - 1; i >= 0; i-- {
			p := c.procs[i]
			if p.name == "kube-apiserver" || p.name == "etcd" {
				wg.Wait()
				p.stop(c.opts.StopGrace)
				continue
			}
			wg.Go(func() { p.stop(c.opts.StopGrace) })
		}
		wg.Wait()
		if c.opts.Dir == "" {
			os.RemoveAll(c.Dir)
		}
	})
}

// httpOK returns a check that GET url answers 200.
func httpOK(client *http.Client, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
		return nil
	}
}

// writeKubeconfig writes an admin kubeconfig for config.
func writeKubeconfig(path string, config *rest.Config) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{
		Server: config.Host, CertificateAuthorityData: config.CAData,
	}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: config.CertData, ClientKeyData: config.KeyData,
	}
	kc.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "admin", Namespace: "default"}
	kc.CurrentContext = "local"
	return clientcmd.WriteToFile(*kc, path)
}
