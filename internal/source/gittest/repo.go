package gittest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Repo is a bare repository under a server root, with a working clone that
// tests commit in and push from with the git CLI.
type Repo struct {
	t testing.TB
	// Name is the repository's path under the root, e.g. "app.git".
	Name string
	// Dir is the bare repository on disk.
	Dir string
	// Work is the working clone that Commit and Tag operate on.
	Work   string
	branch string
}

// NewRepo creates an empty bare repository root/name (name ends in ".git")
// and a working clone on branch main whose origin is that repository.
func NewRepo(t testing.TB, root, name string) *Repo {
	t.Helper()
	r := &Repo{t: t, Name: name, Dir: filepath.Join(root, name), Work: t.TempDir(), branch: "main"}
	Git(t, root, "init", "--quiet", "--bare", "-b", "main", r.Dir)
	r.Git("init", "--quiet", "-b", "main")
	r.Git("remote", "add", "origin", r.Dir)
	return r
}

// Git runs the git CLI in the working clone and returns its trimmed output.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	return Git(r.t, r.Work, args...)
}

// Bare runs the git CLI in the bare repository and returns its trimmed output.
func (r *Repo) Bare(args ...string) string {
	r.t.Helper()
	return Git(r.t, r.Dir, args...)
}

// WriteFile writes content to path (slash-separated, relative to the
// working clone), creating parent directories.
func (r *Repo) WriteFile(path, content string) {
	r.t.Helper()
	full := filepath.Join(r.Work, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// Symlink creates the symlink link -> target in the working clone.
func (r *Repo) Symlink(target, link string) {
	r.t.Helper()
	full := filepath.Join(r.Work, filepath.FromSlash(link))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Symlink(target, full); err != nil {
		r.t.Fatal(err)
	}
}

// Remove deletes path (file or directory) from the working clone.
func (r *Repo) Remove(path string) {
	r.t.Helper()
	if err := os.RemoveAll(filepath.Join(r.Work, filepath.FromSlash(path))); err != nil {
		r.t.Fatal(err)
	}
}

// Commit stages everything, commits on the current branch, force-pushes the
// branch to the bare repository and returns the new commit hash.
func (r *Repo) Commit(msg string) string {
	r.t.Helper()
	r.Git("add", "-A")
	r.Git("commit", "--quiet", "--allow-empty", "-m", msg)
	r.Git("push", "--quiet", "--force", "origin", "HEAD:refs/heads/"+r.branch)
	return r.Git("rev-parse", "HEAD")
}

// Checkout switches the working clone to branch, creating it at the current
// commit when it does not exist yet.
func (r *Repo) Checkout(branch string) {
	r.t.Helper()
	if _, err := run(r.Work, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch); err != nil {
		r.Git("checkout", "--quiet", "-b", branch)
	} else {
		r.Git("checkout", "--quiet", branch)
	}
	r.branch = branch
}

// Tag creates (or moves) tag name at HEAD and force-pushes it. A non-empty
// message makes an annotated tag, an empty one a lightweight tag.
func (r *Repo) Tag(name, message string) {
	r.t.Helper()
	if message != "" {
		r.Git("tag", "--force", "-a", "-m", message, name)
	} else {
		r.Git("tag", "--force", name)
	}
	r.Git("push", "--quiet", "--force", "origin", "refs/tags/"+name)
}

// ResetHard moves the current branch of the working clone to rev and
// force-pushes it, dropping the commits after rev from the branch.
func (r *Repo) ResetHard(rev string) {
	r.t.Helper()
	r.Git("reset", "--quiet", "--hard", rev)
	r.Git("push", "--quiet", "--force", "origin", "HEAD:refs/heads/"+r.branch)
}

// Prune removes every unreachable object from the bare repository, so a
// commit dropped by a force-push no longer exists on the server.
func (r *Repo) Prune() {
	r.t.Helper()
	r.Bare("reflog", "expire", "--expire=now", "--all")
	r.Bare("gc", "--quiet", "--prune=now")
}

// Git runs the git CLI in dir with an isolated configuration and returns its
// trimmed standard output; it fails the test on error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := run(dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func run(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = Env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", &cmdError{err: err, stderr: strings.TrimSpace(stderr.String())}
	}
	return strings.TrimSpace(stdout.String()), nil
}

type cmdError struct {
	err    error
	stderr string
}

// Error includes git's standard error.
func (e *cmdError) Error() string { return e.err.Error() + ": " + e.stderr }

// Env is the environment the helpers run git with: the process environment
// without user or system configuration, and a fixed author and committer.
func Env() []string {
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=gittest", "GIT_AUTHOR_EMAIL=gittest@example.com",
		"GIT_COMMITTER_NAME=gittest", "GIT_COMMITTER_EMAIL=gittest@example.com",
	)
}
