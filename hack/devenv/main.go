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
		example = flag.Bool("example", false, "serve a demo Git repository and deploy it with three AppSources")
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
	if *example {
		git, err := startGitServer(filepath.Join(abs, "git"))
		if err != nil {
			return err
		}
		defer git.Close()
		if err := deployExample(ctx, git, abs, kubectl, cluster.Kubeconfig); err != nil {
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
		"--metrics-bind-address=127.0.0.1:8080", "--metrics-secure=false", "--health-probe-bind-address=127.0.0.1:8081")
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

// deployExample creates the demo repository, applies its AppSources and
// shows them once they are Ready.
func deployExample(ctx context.Context, git *gitServer, dir, kubectl, kubeconfig string) error {
	if err := os.MkdirAll(filepath.Join(dir, "git"), 0o700); err != nil {
		return err
	}
	ex, err := newExample(filepath.Join(dir, "git"), filepath.Join(dir, "demo"))
	if err != nil {
		return err
	}
	say("serving the demo repository %s from %s", git.url("demo.git"), ex.work)
	if err := ex.apply(ctx, kubectl, kubeconfig, ex.manifests(git.url("demo.git"), git.caPEM)); err != nil {
		return err
	}
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig=" + kubeconfig}, args...)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd.Run()
	}
	say("waiting for the AppSources to be Ready")
	waitErr := run("wait", "appsources", "--all", "-n", "demo", "--for=condition=Ready", "--timeout=180s")
	_ = run("get", "appsources", "-A")
	_ = run("get", "deployments,services,secrets,configmaps", "-n", "demo")
	_ = run("get", "deployments,services", "-n", "demo-prod")
	if waitErr != nil {
		return fmt.Errorf("the demo did not become Ready: %w", waitErr)
	}
	say("to roll out a change, commit in the demo repository:\n\n  cd %s\n  sed -i 's/web:1.0/web:1.2/' apps/web/base/deployment.yaml\n  git commit -qam 'web 1.2' && git push -q\n\nthen watch: kubectl get appsrc -A -w (the AppSources poll every 15s).\n"+
		"web-dev rolls first; web-prod waits for web-dev to be good at the commit (see its PENDING column),\n"+
		"then releases it blue-green: the new colour comes up, Service web switches, the old colour scales down.\n"+
		"bin/driftless get -A and bin/driftless history web-prod -n demo show the same from the CLI.", ex.work)
	return nil
}

func say(format string, args ...any) {
	fmt.Printf("==> "+format+"\n", args...)
}
