package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"filippo.io/age"

	"github.com/driftless-dev/driftless/internal/decrypt/sopstest"
)

// example is the demo repository of `make run`: a bare repository to serve
// and a working clone to commit in.
type example struct {
	bare, work string
	key        *age.X25519Identity
}

// newExample writes the demo application, commits it and pushes it to a
// bare repository under root.
func newExample(root, work string) (*example, error) {
	key, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	ex := &example{bare: filepath.Join(root, "demo.git"), work: work, key: key}
	files := exampleFiles()
	for path, plain := range exampleSecrets() {
		enc, err := sopstest.EncryptYAML([]byte(plain), key.Recipient().String(), "^(data|stringData|apiKey)$")
		if err != nil {
			return nil, fmt.Errorf("encrypt %s: %w", path, err)
		}
		files[path] = string(enc)
	}
	for path, content := range files {
		full := filepath.Join(work, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	steps := [][]string{
		{"init", "--quiet", "--bare", "-b", "main", ex.bare},
		{"-C", work, "init", "--quiet", "-b", "main"},
		{"-C", work, "config", "user.name", "Driftless Demo"},
		{"-C", work, "config", "user.email", "demo@driftless.dev"},
		{"-C", work, "add", "-A"},
		{"-C", work, "commit", "--quiet", "-m", "Demo application"},
		{"-C", work, "remote", "add", "origin", ex.bare},
		{"-C", work, "push", "--quiet", "--set-upstream", "origin", "main"},
	}
	for _, args := range steps {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("git %v: %w: %s", args, err, out)
		}
	}
	return ex, nil
}

// manifests are the namespaces, Secrets and AppSources that deploy the demo.
func (ex *example) manifests(url string, caPEM []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, exampleAppSources, indent(string(caPEM), 4), indent(ex.key.String(), 4), url, url, url)
	return b.Bytes()
}

// apply applies the manifests with kubectl.
func (ex *example) apply(ctx context.Context, kubectl, kubeconfig string, manifests []byte) error {
	cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig="+kubeconfig, "apply", "-f", "-")
	cmd.Stdin = bytes.NewReader(manifests)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

func indent(s string, n int) string {
	pad := bytes.Repeat([]byte(" "), n)
	var out bytes.Buffer
	for _, line := range bytes.Split(bytes.TrimRight([]byte(s), "\n"), []byte("\n")) {
		out.Write(pad)
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.String()
}
