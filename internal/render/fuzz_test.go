package render

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzResolve (RELIABILITY S16): any name, with any symbolic links in the
// checkout, resolves inside the checkout or fails; it never escapes.
func FuzzResolve(f *testing.F) {
	for _, seed := range [][2]string{{"app/a.yaml", "../outside"}, {"l1", "/etc"}, {"a/../../b", "l1/../.."}, {"app/./x", "app"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, name, link string) {
		files := tree{"app/a.yaml": cmA, "outside/secret": "s"}
		if link != "" && !strings.ContainsAny(link, "\x00") {
			files["app/link@"] = link
		}
		root := files.write(t)
		c, err := openCheckout(context.Background(), root, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		real, err := c.Resolve(name)
		if err != nil {
			return
		}
		if path.IsAbs(real) || real == ".." || strings.HasPrefix(real, "../") {
			t.Errorf("Resolve(%q) with app/link → %q = %q: outside the checkout", name, link, real)
		}
	})
}

// FuzzRender (RELIABILITY S16) renders random file trees with every engine:
// each render returns objects or an *Error, an engine never panics, and
// nothing outside the checkout is read (outside/secret holds a canary).
func FuzzRender(f *testing.F) {
	f.Add("app/kustomization.yaml\x00resources: [a.yaml]\n\x00app/a.yaml\x00"+cmA, "app")
	f.Add("app/Chart.yaml\x00"+chartYAML+"\x00app/templates/cm.yaml\x00"+chartCM, "app")
	f.Add("app/a.yaml\x00"+cmA+"\x00app/b.yaml@\x00../outside/secret", "app")
	f.Add("app/kustomization.yaml\x00resources: [../outside]\n", "app")
	f.Fuzz(func(t *testing.T, spec, dir string) {
		base := tree{"outside/secret": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {v: " + canary + "}\n",
			"root/.keep": ""}.write(t)
		parts := strings.Split(spec, "\x00")
		for i := 0; i+1 < len(parts); i += 2 {
			// Files the file system refuses (a name too long, a file where a
			// directory is) are left out.
			name := filepath.Join(base, "root", filepath.Clean("/"+parts[i]))
			_ = os.MkdirAll(filepath.Dir(name), 0o755)
			if target, ok := strings.CutSuffix(name, "@"); ok {
				_ = os.Symlink(parts[i+1], target)
			} else {
				_ = os.WriteFile(name, []byte(parts[i+1]), 0o644)
			}
		}
		for _, engine := range []Engine{Auto, Kustomize, Helm, Plain} {
			objs, err := Render(context.Background(), Options{Root: base + "/root", Path: dir, Engine: engine,
				Helm: HelmOptions{ReleaseName: "fuzz"}, Limits: Limits{MaxBytes: 1 << 20, MaxObjects: 100}})
			var e *Error
			switch {
			case err != nil && !errors.As(err, &e):
				t.Errorf("%s: error %v is not an *Error", engine, err)
			case errors.Is(err, errPanicked):
				t.Errorf("%s: %v", engine, err)
			case err != nil && strings.Contains(err.Error(), canary):
				t.Errorf("%s: the error quotes a file outside the checkout", engine)
			}
			for _, o := range objs {
				if data, _ := o.MarshalJSON(); strings.Contains(string(data), canary) {
					t.Errorf("%s: rendered a file outside the checkout", engine)
				}
			}
		}
	})
}
