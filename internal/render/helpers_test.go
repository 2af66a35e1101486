package render

import (
	"os"
	"path/filepath"
	"testing"
)

// tree describes test files: a name ending in "@" followed by a target is a
// symbolic link ("a.yaml@": "/etc/hostname"), any other name a file.
type tree map[string]string

// write creates the tree under a new temporary directory and returns it.
func (tr tree) write(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	tr.writeIn(t, dir)
	return dir
}

func (tr tree) writeIn(t testing.TB, dir string) {
	t.Helper()
	for name, data := range tr {
		link := len(name) > 0 && name[len(name)-1] == '@'
		if link {
			name = name[:len(name)-1]
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if link {
			err = os.Symlink(data, p)
		} else {
			err = os.WriteFile(p, []byte(data), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

const (
	cmA = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n"
	cmB = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n"
	ns  = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n"
)

// names returns "Kind/name" of each object, in order.
func names(objs []object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.u.GetKind() + "/" + o.u.GetName()
	}
	return out
}
