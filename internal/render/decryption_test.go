package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// sealed stands for a SOPS file: the render sees its marker, and the
// test's Decryption turns it back into plain.
func sealed(plain string) string {
	return "sealed: " + strings.NewReplacer("\n", `\n`).Replace(plain) + "\nsops:\n  version: test\n"
}

// unseal is a Decryption that opens sealed files, recording each file it
// was asked about; a file sealed for another key is an error.
type unseal struct {
	mu    sync.Mutex
	asked []string
}

func (u *unseal) decryption(id string) *Decryption {
	return &Decryption{ID: id, File: func(_ context.Context, name string, data []byte) ([]byte, bool, error) {
		u.mu.Lock()
		u.asked = append(u.asked, name)
		u.mu.Unlock()
		s := string(data)
		if !strings.HasPrefix(s, "sealed: ") {
			return data, false, nil
		}
		if strings.Contains(s, "other key") {
			return nil, true, errors.New(name + ": no key")
		}
		body := strings.TrimPrefix(s[:strings.Index(s, "\nsops:")], "sealed: ")
		return []byte(strings.ReplaceAll(body, `\n`, "\n")), true, nil
	}}
}

// TestDecryptsWhatTheRenderReads renders an overlay whose base holds a
// sealed Secret and a sealed dotenv file, beside a sealed file nothing
// reads (sealed for a key the test does not have) and a plain file that
// merely names SOPS: the base is decrypted, the unread file is never
// asked about, nothing on disk changes, and a Cache serves the render
// again only to the same keys.
func TestDecryptsWhatTheRenderReads(t *testing.T) {
	secret := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  token: s3cret\n"
	files := tree{
		"base/kustomization.yaml":          kust("resources: [creds.yaml, notes.yaml]\nsecretGenerator:\n- name: env\n  envs: [app.env]\n"),
		"base/creds.yaml":                  sealed(secret),
		"base/app.env":                     sealed("PASSWORD=hunter2\n"),
		"base/notes.yaml":                  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  tool: sops\n",
		"base/unread.yaml":                 sealed("other key"),
		"overlays/prod/kustomization.yaml": kust("resources: [../../base]\nnamePrefix: prod-\n"),
	}
	for mode, sandbox := range modes(t) {
		t.Run(mode, func(t *testing.T) {
			root := files.write(t)
			u := &unseal{}
			cache := NewCache(4)
			opts := Options{Root: root, Path: "overlays/prod", Sandbox: sandbox, Cache: cache, Decryption: u.decryption("team")}
			objs, err := Render(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]any{}
			for _, o := range objs {
				got[o.GetName()] = o.Object
			}
			if tok, _, _ := unstructured.NestedString(got["prod-creds"], "stringData", "token"); tok != "s3cret" {
				t.Errorf("the base's Secret: token %q, want the plaintext", tok)
			}
			var env string
			for name, o := range got {
				if strings.HasPrefix(name, "prod-env-") {
					env, _, _ = unstructured.NestedString(o, "data", "PASSWORD")
				}
			}
			if env != "aHVudGVyMg==" { // base64 of hunter2
				t.Errorf("the generated Secret: PASSWORD %q, want hunter2 in base64", env)
			}
			if want := []string{"base/app.env", "base/creds.yaml", "base/notes.yaml"}; !slices.Equal(sortedSet(u.asked), want) {
				t.Errorf("asked about %v, want %v", sortedSet(u.asked), want)
			}
			for name, data := range files {
				if disk, _ := os.ReadFile(filepath.Join(root, name)); string(disk) != data {
					t.Errorf("%s changed on disk", name)
				}
			}

			if _, err := Render(t.Context(), opts); err != nil || cache.Stats().Hits != 1 {
				t.Errorf("the same keys: %v, stats %+v, want a hit", err, cache.Stats())
			}
			opts.Decryption = u.decryption("another team")
			if _, err := Render(t.Context(), opts); err != nil || cache.Stats().Misses != 2 {
				t.Errorf("other keys: %v, stats %+v, want a miss", err, cache.Stats())
			}

			write(t, root, "overlays/prod/kustomization.yaml", kust("resources: [../../base, ../../base/unread.yaml]\n"))
			if _, err := Render(t.Context(), opts); err == nil || !strings.Contains(err.Error(), "base/unread.yaml: no key") {
				t.Errorf("a file read that cannot be decrypted: %v, want its error", err)
			}
		})
	}
}

func sortedSet(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// TestUnusedChartFilesNeedNoKey renders a chart that holds a
// values file sealed for another key: Helm loads it with the chart, but
// only a values file named for the release needs its plaintext.
func TestUnusedChartFilesNeedNoKey(t *testing.T) {
	root := tree{
		"chart/Chart.yaml":          chartYAML,
		"chart/templates/cm.yaml":   chartCM,
		"chart/values-prod.yaml":    sealed("other key"),
		"chart/files/settings.json": sealed(`{"a": 1}`),
	}.write(t)
	u := &unseal{}
	opts := Options{Root: root, Path: "chart", Helm: HelmOptions{ReleaseName: "web"}, Decryption: u.decryption("team")}
	if _, err := Render(t.Context(), opts); err != nil {
		t.Fatalf("a chart file no values list names: %v", err)
	}
	if want := []string{"chart/files/settings.json", "chart/values-prod.yaml"}; !slices.Equal(sortedSet(u.asked), want) {
		t.Errorf("asked about %v, want %v: the chart's files are decrypted when the keys allow", sortedSet(u.asked), want)
	}
	opts.Helm.ValuesFiles = []string{"values-prod.yaml"}
	if _, err := Render(t.Context(), opts); err == nil || !strings.Contains(err.Error(), "chart/values-prod.yaml: no key") {
		t.Errorf("the same file as the release's values: %v, want its error", err)
	}
}
