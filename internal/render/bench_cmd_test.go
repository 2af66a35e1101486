package render

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
)

// commandIn returns the command running bin in dir with an empty home.
func commandIn(ctx context.Context, bin, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	home := filepath.Join(dir, ".home")
	cmd.Env = []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "XDG_CACHE_HOME=" + home,
		"KUBECONFIG=" + filepath.Join(home, "kubeconfig"), "PATH=" + os.Getenv("PATH")}
	return cmd
}
