package decrypt

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestCleanRel(t *testing.T) {
	cases := map[string]struct {
		want string
		err  error
	}{
		"":                {".", nil},
		".":               {".", nil},
		"deploy/prod":     {"deploy/prod", nil},
		"a/../b//c/":      {"b/c", nil},
		"..":              {"", ErrPathOutOfBounds},
		"../x":            {"", ErrPathOutOfBounds},
		"a/../../x":       {"", ErrPathOutOfBounds},
		"/etc/passwd":     {"", ErrPathOutOfBounds},
		"./deploy/../../": {"", ErrPathOutOfBounds},
	}
	for in, tc := range cases {
		got, err := cleanRel(in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("cleanRel(%q) = %q, %v; want %q, %v", in, got, err, tc.want, tc.err)
		}
	}
}

func TestResolve(t *testing.T) {
	root := newTree(t, map[string][]byte{"a/b/file.yaml": []byte("x: y\n"), "base/s.yaml": []byte("s: t\n")})
	outside := filepath.Join(filepath.Dir(root), "outside")
	writeFile(t, filepath.Join(outside, "secret"), []byte("outside"))
	links := map[string]string{
		"a/up":          "..",
		"a/to-file":     "b/file.yaml",
		"a/b/to-base":   "../../base/s.yaml",
		"a/abs":         "/etc/hostname",
		"a/escape":      "../../outside/secret",
		"a/escape-dir":  "../../outside",
		"a/chain1":      "chain2",
		"a/chain2":      "escape",
		"a/loop1":       "loop2",
		"a/loop2":       "loop1",
		"a/self":        ".",
		"a/dangling":    "nothing.yaml",
		"a/b/up-and-in": "../../../checkout/base/s.yaml",
	}
	for link, target := range links {
		symlink(t, target, filepath.Join(root, filepath.FromSlash(link)))
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cases := map[string]struct {
		want string
		err  error
	}{
		"a/b/file.yaml":         {"a/b/file.yaml", nil},
		"a/to-file":             {"a/b/file.yaml", nil},
		"a/b/to-base":           {"base/s.yaml", nil},
		"a/up/base/s.yaml":      {"base/s.yaml", nil},
		"a/self/self/to-file":   {"a/b/file.yaml", nil},
		"a/up":                  {".", nil},
		"a/abs":                 {"", ErrSymlinkOutOfBounds},
		"a/escape":              {"", ErrSymlinkOutOfBounds},
		"a/escape-dir/secret":   {"", ErrSymlinkOutOfBounds},
		"a/chain1":              {"", ErrSymlinkOutOfBounds},
		"a/loop1":               {"", ErrSymlinkOutOfBounds},
		"a/dangling":            {"", fs.ErrNotExist},
		"a/b/up-and-in":         {"", ErrSymlinkOutOfBounds},
		"a/b/file.yaml/nothing": {"", nil}, // ENOTDIR: any error will do
	}
	for in, tc := range cases {
		got, _, err := resolve(r, in)
		if in == "a/b/file.yaml/nothing" {
			if err == nil {
				t.Errorf("resolve(%q) succeeded through a file", in)
			}
			continue
		}
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("resolve(%q) = %q, %v; want %q, %v", in, got, err, tc.want, tc.err)
		}
	}
}

func TestTreeRefusesSymlinksOutOfTheTree(t *testing.T) {
	s := newSecrets()
	id := s.ageKey(t)
	secret := seal(t, FormatYAML, secretYAML(s.canary("outside"), s.canary("outside2")), forAge(t, id))
	cases := []struct {
		name   string
		link   string // inside the checkout
		target string
		paths  []string // passed to Tree
		errAt  string
	}{
		{"file link to a sibling directory", "app/secret.yaml", "../../outside/secret.yaml", []string{"app"}, "app/secret.yaml"},
		{"absolute link", "app/host.yaml", "/etc/hostname", []string{"app"}, "app/host.yaml"},
		{"proc environ", "app/env.yaml", "/proc/self/environ", []string{"app"}, "app/env.yaml"},
		{"directory link", "app/shared", "../../outside", []string{"app"}, "app/shared"},
		{"named file through a directory link", "app/shared", "../../outside", []string{"app/shared/secret.yaml"}, "app/shared/secret.yaml"},
		{"named values file link", "chart/values.yaml", "../../outside/secret.yaml", []string{"chart/values.yaml"}, "chart/values.yaml"},
		{"symlink loop", "app/loop", "loop", []string{"app"}, "app/loop"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := newTree(t, map[string][]byte{"app/plain.yaml": []byte("a: b\n")})
			outside := filepath.Join(filepath.Dir(root), "outside", "secret.yaml")
			writeFile(t, outside, secret)
			symlink(t, tc.target, filepath.Join(root, filepath.FromSlash(tc.link)))

			_, err := Tree(context.Background(), root, withKeys(ageKeys(id)), tc.paths...)
			s.assertNoLeak(t, err)
			fileError(t, err, tc.errAt, ErrSymlinkOutOfBounds)
			if got, _ := os.ReadFile(outside); string(got) != string(secret) {
				t.Fatal("a file outside the tree was changed")
			}
		})
	}
}

func TestTreeRefusesPathsOutOfTheTree(t *testing.T) {
	root := newTree(t, map[string][]byte{"a.yaml": []byte("a: b\n")})
	for _, p := range []string{"../outside", "/etc", "app/../../x"} {
		_, err := Tree(context.Background(), root, DefaultOptions(), p)
		fileError(t, err, p, ErrPathOutOfBounds)
	}
}

func TestTreeFollowsSymlinksInsideTheTree(t *testing.T) {
	s := newSecrets()
	id := s.ageKey(t)
	plain := helmValues(s.canary("inside"), "x")
	root := newTree(t, map[string][]byte{
		"base/secret.yaml":   seal(t, FormatYAML, plain, forAge(t, id)),
		"shared/common.yaml": seal(t, FormatYAML, plain, forAge(t, id)),
	})
	symlink(t, "../base/secret.yaml", filepath.Join(root, "app", "secret.yaml"))
	symlink(t, "../shared", filepath.Join(root, "app", "shared"))
	symlink(t, ".", filepath.Join(root, "app", "self"))
	symlink(t, "missing.yaml", filepath.Join(root, "app", "dangling.yaml"))

	res, err := Tree(context.Background(), root, withKeys(ageKeys(id)), "app", "base/secret.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Decrypted) != 2 || res.Decrypted[0].Path != "base/secret.yaml" || res.Decrypted[1].Path != "shared/common.yaml" {
		t.Fatalf("decrypted %+v; want base/secret.yaml then shared/common.yaml, each once", res.Decrypted)
	}
	sameContent(t, FormatYAML, readFile(t, root, "app/secret.yaml"), plain)
	if fi, err := os.Lstat(filepath.Join(root, "app", "secret.yaml")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatal("the symlink itself must stay a symlink")
	}
}
