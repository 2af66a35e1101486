package kustomize

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestFileSystem checks the view of the checkout kustomize gets: rooted at
// vroot, symbolic links resolved, read-only.
func TestFileSystem(t *testing.T) {
	dir := writeTree(t, map[string]string{"base/kustomization.yaml": "resources: [cm.yaml]\n", "base/cm.yaml": configMap, "base/x.txt": "x"})
	if err := os.Symlink("base", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	g := &guard{fsys: openFS(t, dir)}
	f := &fileSystem{fsys: g.fsys, guard: g}
	d, file, err := f.CleanedAbs(vroot + "/link/cm.yaml")
	if err != nil || d != vroot+"/base" || file != "cm.yaml" {
		t.Fatalf("CleanedAbs = %q, %q, %v", d, file, err)
	}
	if d, file, err := f.CleanedAbs("/checkout/link"); err != nil || d != vroot+"/base" || file != "" {
		t.Fatalf("CleanedAbs(dir) = %q, %q, %v", d, file, err)
	}
	if !f.Exists(vroot+"/base/cm.yaml") || f.Exists(vroot+"/base/none") || !f.IsDir(vroot+"/link") || f.IsDir(vroot+"/base/x.txt") {
		t.Fatal("Exists or IsDir is wrong")
	}
	if names, err := f.ReadDir(vroot + "/base"); err != nil || !reflect.DeepEqual(names, []string{"cm.yaml", "kustomization.yaml", "x.txt"}) {
		t.Fatalf("ReadDir = %v, %v", names, err)
	}
	if got, err := f.Glob(vroot + "/base/*.yaml"); err != nil || len(got) != 2 {
		t.Fatalf("Glob = %v, %v", got, err)
	}
	var walked []string
	if err := f.Walk(vroot+"/link", func(p string, _ os.FileInfo, err error) error { walked = append(walked, p); return err }); err != nil || len(walked) != 4 {
		t.Fatalf("Walk = %v, %v", walked, err)
	}
	fh, err := f.Open(vroot + "/base/x.txt")
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := io.ReadAll(fh); string(data) != "x" {
		t.Fatalf("Open read %q", data)
	}
	if _, err := fh.Write([]byte("y")); !errors.Is(err, errReadOnly) {
		t.Fatalf("Write = %v", err)
	}
	for name, err := range map[string]error{
		"WriteFile": f.WriteFile(vroot+"/base/x.txt", nil), "Mkdir": f.Mkdir(vroot + "/n"),
		"MkdirAll": f.MkdirAll(vroot + "/n/m"), "RemoveAll": f.RemoveAll(vroot + "/base"),
	} {
		if !errors.Is(err, errReadOnly) {
			t.Errorf("%s = %v, want errReadOnly", name, err)
		}
	}
	if _, err := f.Create(vroot + "/new"); !errors.Is(err, errReadOnly) {
		t.Errorf("Create = %v", err)
	}
	if got := rel("/etc/passwd"); got != "../etc/passwd" {
		t.Errorf("rel(/etc/passwd) = %q, want a name the checkout refuses", got)
	}
}
