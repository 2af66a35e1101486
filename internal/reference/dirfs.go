package reference

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DirFS is a minimal read-only view of a directory, with the methods the
// renderers' FS interfaces ask for, for tests of those renderers alone. It is
// confined by os.Root but is not the renderer's checkout: no limits, no
// violation tracking.
type DirFS struct {
	root *os.Root
	dir  string
}

// OpenDirFS opens dir.
func OpenDirFS(dir string) (*DirFS, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	return &DirFS{root: r, dir: real}, nil
}

// Close releases the directory.
func (d *DirFS) Close() error { return d.root.Close() }

// ReadFile returns a file's contents.
func (d *DirFS) ReadFile(name string) ([]byte, error) {
	return d.root.ReadFile(filepath.FromSlash(name))
}

// Stat returns a file's information, following symbolic links.
func (d *DirFS) Stat(name string) (fs.FileInfo, error) { return d.root.Stat(filepath.FromSlash(name)) }

// ReadDir returns a directory's entries, sorted by name.
func (d *DirFS) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := d.root.Open(filepath.FromSlash(name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, err
}

// Resolve returns name with its symbolic links resolved.
func (d *DirFS) Resolve(name string) (string, error) {
	p, err := filepath.EvalSymlinks(filepath.Join(d.dir, filepath.FromSlash(name)))
	if err != nil {
		if os.IsNotExist(err) {
			return filepath.ToSlash(filepath.Clean(name)), nil
		}
		return "", err
	}
	rel, err := filepath.Rel(d.dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", &fs.PathError{Op: "resolve", Path: name, Err: fs.ErrPermission}
	}
	return filepath.ToSlash(rel), nil
}
