// Command devenv runs a local development environment: a real control plane
// with fake nodes, the AppSource CRD, and optionally the manager and the
// samples of config/samples. It runs until interrupted and then stops
// everything it started. `make run` and `make cluster-up` use it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/driftless-dev/driftless/internal/localcluster"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "devenv:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		dir     = flag.String("dir", ".cache/devenv", "folder for the control plane's data, logs and kubeconfig; emptied on start")
		manager = flag.String("manager", "", "manager binary to run against the cluster; empty runs none")
		samples = flag.String("samples", "", "folder of manifests to apply once the manager runs; empty applies none")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(abs); err != nil {
		return err
	}
	bins, err := localcluster.FindBinaries()
	if err != nil {
		return err
	}
	say("starting a local control plane in %s", abs)
	start := time.Now()
	opts := localcluster.DefaultOptions()
	opts.BinDir, opts.Dir = bins, filepath.Join(abs, "cluster")
	cluster, err := localcluster.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer cluster.Stop()
	if err := cluster.InstallCRDs(ctx, "config/crd"); err != nil {
		return err
	}
	say("control plane ready in %s: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok with 1 fake node", time.Since(start).Round(time.Millisecond))
	kubectl := filepath.Join(bins, "kubectl")

	if *manager != "" {
		mgr, err := startManager(*manager, cluster.Kubeconfig, filepath.Join(abs, "manager.log"))
		if err != nil {
			return err
		}
		defer stopProcess(mgr)
		say("manager running, logs in %s", filepath.Join(abs, "manager.log"))
	}
	if *samples != "" {
		if err := showSamples(ctx, kubectl, cluster.Kubeconfig, *samples); err != nil {
			return err
		}
	}
	ready := filepath.Join(abs, "ready") // tells make cluster-up that the cluster is up
	if err := os.WriteFile(ready, nil, 0o600); err != nil {
		return err
	}
	defer os.Remove(ready)
	say("to look around:\n\n  export KUBECONFIG=%s\n  alias kubectl=%s\n  kubectl get appsrc -A\n  kubectl get nodes,pods -A\n\nCtrl-C stops everything.", cluster.Kubeconfig, kubectl)
	<-ctx.Done()
	say("stopping")
	return nil
}

// startManager runs the manager binary against the cluster, logging to logFile.
func startManager(bin, kubeconfig, logFile string) (*exec.Cmd, error) {
	out, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--kubeconfig="+kubeconfig,
		"--metrics-bind-address=127.0.0.1:8080", "--health-probe-bind-address=127.0.0.1:8081")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	return cmd, cmd.Start()
}

func stopProcess(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// showSamples applies the samples and shows the AppSources once the manager
// has observed them.
func showSamples(ctx context.Context, kubectl, kubeconfig, dir string) error {
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig=" + kubeconfig}, args...)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd.Run()
	}
	say("applying %s", dir)
	if err := run("apply", "-f", dir); err != nil {
		return err
	}
	err := run("wait", "appsources", "--all", "-A", "--timeout=60s",
		"--for=jsonpath={.status.observedGeneration}=1")
	if err != nil {
		return err
	}
	return run("get", "appsources", "-A")
}

func say(format string, args ...any) {
	fmt.Printf("==> "+format+"\n", args...)
}
