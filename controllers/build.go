package controllers

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
	"github.com/driftless-dev/driftless/internal/decrypt"
	"github.com/driftless-dev/driftless/internal/source"
)

// BuildOptions say where Build takes the source from and how it decrypts it.
type BuildOptions struct {
	// LocalPath, when set, is a local directory that stands for
	// spec.source.path: its working copy (the nearest directory above it
	// holding .git, or else the directory itself) is copied into a private
	// checkout instead of fetching Git, so that kustomize bases beside it
	// resolve as they would in the repository.
	LocalPath string
	// Keys, when set, decrypt instead of the Secret spec.decryption names.
	Keys *decrypt.Keys
}

// Built is what Build rendered.
type Built struct {
	// Revision is the fetched revision, or "local:<directory>".
	Revision string
	// Objects are the rendered objects in apply order, as the strategy
	// would apply them next (blue-green colours them); the caller's own.
	Objects []*unstructured.Unstructured
	// Kept are inventory entries the apply keeps without applying them: the
	// idle blue-green colour. Prune leaves them alone.
	Kept []apply.Entry
}

// Build runs the reconcile's own fetch, decrypt and render steps for obj and
// applies nothing: what `driftless build` prints and `driftless diff`
// compares. The private checkout is removed before Build returns; SOPS
// files are decrypted in memory as the render reads them. obj is not
// modified.
func (r *AppSourceReconciler) Build(ctx context.Context, obj *v1alpha1.AppSource, opts BuildOptions) (Built, error) {
	st := &state{obj: obj.DeepCopy(), started: time.Now(), keys: opts.Keys}
	defer func() {
		if st.workDir != "" {
			os.RemoveAll(st.workDir) // the copy never outlives the build
		}
	}()
	get := r.fetch
	if opts.LocalPath != "" {
		get = r.copyLocal(opts.LocalPath)
	}
	steps := []step{get, r.decrypt, r.render}
	if r.Cache != nil {
		steps = append(steps, r.plan) // the strategy reads the cluster
	}
	for _, s := range steps {
		if err := s(ctx, st); err != nil {
			return Built{}, err
		}
	}
	objs := make([]*unstructured.Unstructured, len(st.objects))
	for i, o := range st.objects {
		objs[i] = o.DeepCopy() // a remembered render is shared
	}
	return Built{Revision: st.revision, Objects: objs, Kept: st.keep}, nil
}

// Diff says, with server-side dry-runs as the AppSource's own identity, what
// applying objs would do, and what prune would delete when prune is on.
func (r *AppSourceReconciler) Diff(ctx context.Context, obj *v1alpha1.AppSource, built Built) ([]apply.ObjectDiff, error) {
	var inventory []apply.Entry
	if obj.Spec.PruneEnabled() {
		inventory = apply.Stale(inventoryOf(obj), built.Kept)
	}
	return r.Apply.Diff(ctx, built.Objects, inventory, r.applyOptions(obj))
}

// copyLocal stands in for fetch: it copies the working copy holding dir into
// a private checkout, so that the render reads one snapshot of the user's
// files while they may be edited, and points the path at dir.
func (r *AppSourceReconciler) copyLocal(dir string) step {
	return func(ctx context.Context, st *state) error {
		if err := r.resolveChart(ctx, st); err != nil {
			return err
		}
		root, rel, err := WorkingCopy(dir)
		if err != nil {
			return failed(v1alpha1.PathInvalidReason, err)
		}
		work, err := os.MkdirTemp(r.WorkDir, "build-")
		if err != nil {
			return err
		}
		st.workDir, st.checkout = work, filepath.Join(work, "checkout")
		if err := copyTree(root, st.checkout, source.DefaultOptions()); err != nil {
			return err
		}
		st.obj.Spec.Source.Path = rel
		st.revision = withChart(st, "local:"+dir)
		return checkPath(st.checkout, pathOrRoot(rel), st.revision)
	}
}

// WorkingCopy returns the root of the working copy holding dir (the nearest
// directory at or above it that holds .git, or else dir itself) and dir's
// slash-separated path inside it ("" for the root).
func WorkingCopy(dir string) (root, rel string, err error) {
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return "", "", fmt.Errorf("directory %s: %w", dir, err)
	}
	if info, err := os.Stat(abs); err != nil || !info.IsDir() {
		return "", "", fmt.Errorf("%s is not a directory", dir)
	}
	root = abs
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			root = d
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	rel, err = filepath.Rel(root, abs)
	if err != nil {
		return "", "", err
	}
	if rel == "." {
		rel = ""
	}
	return root, filepath.ToSlash(rel), nil
}

// copyTree copies the regular files, directories and symlinks under src to
// dst, private to the user, leaving out .git. It is bounded like a Git
// checkout; symlinks are copied as they are, and the checkout's rooted reads
// refuse those that leave it.
func copyTree(src, dst string, limits source.Options) error {
	var bytes int64
	var files int
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == ".git" && p != src {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if files++; files > limits.MaxCheckoutFiles {
			return failed(v1alpha1.LimitExceededReason, fmt.Errorf("%s holds more than %d files", src, limits.MaxCheckoutFiles))
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o700)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case !d.Type().IsRegular():
			return nil // sockets, devices and pipes are no manifests
		}
		n, err := copyFile(p, target)
		if bytes += n; bytes > limits.MaxCheckoutBytes {
			return failed(v1alpha1.LimitExceededReason, fmt.Errorf("%s holds more than %d bytes", src, limits.MaxCheckoutBytes))
		}
		return err
	})
}

func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}
