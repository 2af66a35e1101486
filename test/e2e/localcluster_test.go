package e2e

import (
	"os"
	"syscall"
	"testing"

	"github.com/driftless-dev/driftless/internal/localcluster"
)

// A second control plane, API server and etcd only, runs beside the shared
// one on other ports, and Stop leaves no process and no directory behind.
func TestLocalClusterStopLeavesNothingBehind(t *testing.T) {
	opts := localcluster.DefaultOptions()
	opts.Workloads = false
	c, err := localcluster.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	pids := c.PIDs()
	if len(pids) != 2 {
		t.Errorf("%d processes, want etcd and kube-apiserver", len(pids))
	}
	if _, err := os.Stat(c.Kubeconfig); err != nil {
		t.Errorf("kubeconfig: %v", err)
	}
	c.Stop()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("process %d still running after Stop", pid)
		}
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Errorf("directory %s still there after Stop (%v)", c.Dir, err)
	}
}
