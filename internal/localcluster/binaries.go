package localcluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BinDirEnv names the environment variable that points at a folder holding
// the control plane binaries, as hack/build-k8s.sh prints it.
const BinDirEnv = "DRIFTLESS_K8S_BIN"

var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok"}

// FindBinaries returns the folder of the control plane binaries: $DRIFTLESS_K8S_BIN
// when set, otherwise the folder hack/build-k8s.sh of this checkout prints,
// building the binaries first when they are missing (about 10 minutes once).
func FindBinaries() (string, error) {
	dir := os.Getenv(BinDirEnv)
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", fmt.Errorf("%s is not set and %w", BinDirEnv, err)
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(filepath.Join(root, "hack", "build-k8s.sh"))
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("hack/build-k8s.sh: %w: %s", err, strings.TrimSpace(stderr.String()))
		}
		dir = strings.TrimSpace(stdout.String())
	}
	for _, b := range binaries {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("control plane binary %s missing in %s (run hack/build-k8s.sh): %w", b, dir, err)
		}
	}
	return dir, nil
}

// moduleRoot walks up from the working directory to the folder of go.mod
// that holds hack/build-k8s.sh.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack", "build-k8s.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no hack/build-k8s.sh above the working directory")
		}
		dir = parent
	}
}
