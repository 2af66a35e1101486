package render

import (
	"bytes"
	"fmt"
	"path"
	"strings"
)

// manifestExts are the file extensions of a plain directory's manifests.
var manifestExts = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// renderPlain parses every manifest under dir: *.yaml, *.yml and *.json
// files, recursively, in lexical order of their paths, each split into its
// documents. Hidden files and directories (".git", ".github") are skipped.
// Symbolic links are followed inside the checkout; a link back to a
// directory being walked is an error rather than an endless walk.
func renderPlain(c *checkout, dir string, limits Limits, vars map[string]string) ([]object, error) {
	files, err := manifests(c, dir, map[string]bool{})
	if err != nil {
		return nil, err
	}
	var objs []object
	for _, name := range files {
		data, err := c.ReadFile(name)
		if err != nil {
			return nil, fileError(c, name, err)
		}
		got, err := parseSubstituting(data, name, limits, vars)
		if err != nil {
			return nil, err
		}
		objs = append(objs, got...)
		if len(objs) > limits.MaxObjects {
			return nil, failf(LimitExceeded, dir, 0, "render has more than %d objects", limits.MaxObjects)
		}
	}
	return objs, nil
}

// plainStream is the files renderPlain reads, in its order, as one YAML
// stream.
func plainStream(c *checkout, dir string, limits Limits) ([]byte, error) {
	files, err := manifests(c, dir, map[string]bool{})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, name := range files {
		data, err := c.ReadFile(name)
		if err != nil {
			return nil, fileError(c, name, err)
		}
		b.WriteString("---\n")
		b.Write(data)
		b.WriteString("\n")
		if int64(b.Len()) > limits.MaxBytes {
			return nil, failf(LimitExceeded, dir, 0, "render produces more than %d bytes of YAML", limits.MaxBytes)
		}
	}
	return b.Bytes(), nil
}

// manifests lists the manifest files under dir, sorted. walking holds the
// resolved directories being walked, to stop symbolic link cycles.
func manifests(c *checkout, dir string, walking map[string]bool) ([]string, error) {
	real, err := c.Resolve(dir)
	if err != nil {
		return nil, fileError(c, dir, err)
	}
	if walking[real] {
		return nil, failf(BuildFailed, dir, 0, "symbolic link cycle: directory is inside itself")
	}
	walking[real] = true
	defer delete(walking, real)
	entries, err := c.ReadDir(dir)
	if err != nil {
		return nil, fileError(c, dir, err)
	}
	var files []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		name := path.Join(dir, e.Name())
		fi, err := c.Stat(name)
		if err != nil {
			return nil, fileError(c, name, err)
		}
		if fi.IsDir() {
			sub, err := manifests(c, name, walking)
			if err != nil {
				return nil, err
			}
			files = append(files, sub...)
		} else if manifestExts[path.Ext(e.Name())] {
			files = append(files, name)
		}
	}
	return files, nil
}

// fileError returns the checkout's violation when there is one, else err as
// a BuildFailed error about name.
func fileError(c *checkout, name string, err error) error {
	if v := c.Violation(); v != nil {
		return v
	}
	if e, ok := err.(*Error); ok { //nolint:errorlint // only an unwrapped *Error is passed on as is
		return e
	}
	return &Error{Reason: BuildFailed, File: name, Err: fmt.Errorf("%w", stripPath(err))}
}
