package kustomize

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// FS is the confined, read-only view of the checkout a build reads through.
// Names are slash-separated and relative to the checkout root; a name that
// resolves outside the root, through ".." or a symbolic link, is refused.
type FS interface {
	// ReadFile returns the contents of a regular file.
	ReadFile(name string) ([]byte, error)
	// Stat returns a file's information, following symbolic links.
	Stat(name string) (fs.FileInfo, error)
	// ReadDir returns a directory's entries, sorted by name.
	ReadDir(name string) ([]fs.DirEntry, error)
	// Resolve returns name with its symbolic links resolved, "." for the root.
	Resolve(name string) (string, error)
}

// vroot is where the checkout appears to kustomize. Errors are rewritten
// relative to it.
const vroot = "/checkout"

// errReadOnly is returned by every method that would write.
var errReadOnly = errors.New("the checkout is read-only while rendering")

// fileSystem is kustomize's filesys.FileSystem over an FS: read-only, rooted
// at vroot, and inspecting every kustomization file before kustomize sees it.
type fileSystem struct {
	fsys  FS
	guard *guard
}

var _ filesys.FileSystem = (*fileSystem)(nil)

// rel maps a virtual path to a checkout name; a path outside vroot maps to a
// name starting with "../", which the FS refuses.
func rel(p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(vroot, p)
	}
	r, err := filepath.Rel(vroot, filepath.Clean(p))
	if err != nil {
		return "../" + p
	}
	return filepath.ToSlash(r)
}

// abs maps a checkout name to its virtual path.
func abs(name string) string { return path.Join(vroot, name) }

// ReadFile reads a file, refusing a kustomization or plugin configuration
// that refers to anything outside the checkout.
func (f *fileSystem) ReadFile(p string) ([]byte, error) {
	name := rel(p)
	data, err := f.fsys.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if err := f.guard.inspect(name, data); err != nil {
		return nil, err
	}
	return data, nil
}

// CleanedAbs resolves p's symbolic links and splits it into its directory and
// file name, the file name empty when p is a directory, as on disk.
func (f *fileSystem) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	real, err := f.fsys.Resolve(rel(p))
	if err != nil {
		return "", "", err
	}
	fi, err := f.fsys.Stat(real)
	if err != nil {
		return "", "", fmt.Errorf("evalsymlink failure on '%s' : %w", p, err)
	}
	if fi.IsDir() {
		return filesys.ConfirmedDir(abs(real)), "", nil
	}
	return filesys.ConfirmedDir(abs(path.Dir(real))), path.Base(real), nil
}

// Exists reports whether p exists.
func (f *fileSystem) Exists(p string) bool {
	_, err := f.fsys.Stat(rel(p))
	return err == nil
}

// IsDir reports whether p is a directory.
func (f *fileSystem) IsDir(p string) bool {
	fi, err := f.fsys.Stat(rel(p))
	return err == nil && fi.IsDir()
}

// ReadDir returns the names of p's entries.
func (f *fileSystem) ReadDir(p string) ([]string, error) {
	entries, err := f.fsys.ReadDir(rel(p))
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// Glob returns the names matching pattern, whose directory part must be a
// plain path.
func (f *fileSystem) Glob(pattern string) ([]string, error) {
	dir, base := filepath.Split(pattern)
	if strings.ContainsAny(dir, `*?[\`) {
		return nil, fmt.Errorf("glob %q: only the last path element may hold a pattern", pattern)
	}
	names, err := f.ReadDir(dir)
	if err != nil {
		return nil, nil //nolint:nilerr // a missing directory matches nothing, as filepath.Glob
	}
	var out []string
	for _, n := range names {
		if ok, err := path.Match(base, n); err != nil {
			return nil, err
		} else if ok {
			out = append(out, filepath.Join(dir, n))
		}
	}
	return out, nil
}

// Walk walks the tree at p in lexical order, following symbolic links
// inside the checkout.
func (f *fileSystem) Walk(p string, fn filepath.WalkFunc) error {
	fi, err := f.fsys.Stat(rel(p))
	if err != nil {
		return fn(p, nil, err)
	}
	err = f.walk(p, fi, fn, 0)
	if errors.Is(err, filepath.SkipDir) || errors.Is(err, filepath.SkipAll) {
		return nil
	}
	return err
}

// maxWalkDepth stops a walk through a symbolic link cycle.
const maxWalkDepth = 64

func (f *fileSystem) walk(p string, fi fs.FileInfo, fn filepath.WalkFunc, depth int) error {
	if err := fn(p, fi, nil); err != nil || !fi.IsDir() {
		return err
	}
	if depth > maxWalkDepth {
		return fmt.Errorf("walk %s: deeper than %d directories", p, maxWalkDepth)
	}
	names, err := f.ReadDir(p)
	if err != nil {
		return fn(p, fi, err)
	}
	for _, n := range names {
		child := filepath.Join(p, n)
		cfi, err := f.fsys.Stat(rel(child))
		if err != nil {
			err = fn(child, nil, err)
		} else {
			err = f.walk(child, cfi, fn, depth+1)
		}
		if errors.Is(err, filepath.SkipDir) {
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Open opens p for reading.
func (f *fileSystem) Open(p string) (filesys.File, error) {
	data, err := f.ReadFile(p)
	if err != nil {
		return nil, err
	}
	fi, err := f.fsys.Stat(rel(p))
	if err != nil {
		return nil, err
	}
	return &file{Reader: bytes.NewReader(data), info: fi}, nil
}

// Create refuses: the checkout is read-only.
func (f *fileSystem) Create(string) (filesys.File, error) { return nil, errReadOnly }

// Mkdir refuses: the checkout is read-only.
func (f *fileSystem) Mkdir(string) error { return errReadOnly }

// MkdirAll refuses: the checkout is read-only.
func (f *fileSystem) MkdirAll(string) error { return errReadOnly }

// RemoveAll refuses: the checkout is read-only.
func (f *fileSystem) RemoveAll(string) error { return errReadOnly }

// WriteFile refuses: the checkout is read-only.
func (f *fileSystem) WriteFile(string, []byte) error { return errReadOnly }

// file is an opened, read-only file.
type file struct {
	*bytes.Reader
	info fs.FileInfo
}

// Write refuses: the checkout is read-only.
func (f *file) Write([]byte) (int, error) { return 0, errReadOnly }

// Close does nothing: the contents are in memory.
func (f *file) Close() error { return nil }

// Stat returns the file's information.
func (f *file) Stat() (os.FileInfo, error) { return f.info, nil }
