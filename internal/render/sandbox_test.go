package render

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/driftless-dev/driftless/internal/render/kustomize"
)

// TestMain lets this test binary be the Command of the sandboxes it tests.
func TestMain(m *testing.M) {
	MaybeServeSandbox()
	os.Exit(m.Run())
}

// testSandbox is a sandbox of this test binary with the given bounds.
func testSandbox(t testing.TB, timeout, cpu time.Duration, mem int64) *Sandbox {
	t.Helper()
	s, err := DefaultSandbox()
	if err != nil {
		t.Fatal(err)
	}
	s.Timeout, s.CPUTime, s.MemoryBytes = timeout, cpu, mem
	return s
}

// modes are the two ways a render runs: every security property holds in both.
func modes(t testing.TB) map[string]*Sandbox {
	return map[string]*Sandbox{"in-process": nil, "sandboxed": testSandbox(t, time.Minute, time.Minute, 1<<30)}
}

// TestRemoteReferencesNeverLoad renders kustomizations naming remote files
// and Git repositories under every key that can load one, in several
// spellings (kustomize reads keys case-insensitively), with a counting HTTP
// server for the files and a fake git on PATH that leaves a marker: every
// render fails, no request arrives and git never runs.
func TestRemoteReferencesNeverLoad(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		fmt.Fprint(w, cmA)
	}))
	defer srv.Close()
	bin := t.TempDir()
	marker := filepath.Join(t.TempDir(), "git-ran")
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte("#!/bin/sh\ntouch "+marker+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	file, repo := srv.URL+"/cm.yaml", "git::"+srv.URL+"/repo.git"
	bodies := map[string]string{}
	for _, key := range []string{"resources", "Resources", "RESOURCES", "bases", "Bases", "components", "Components", "crds", "CRDs", "configurations", "Configurations"} {
		bodies[key+" file"] = key + ": [" + file + "]\n"
		bodies[key+" repo"] = key + ": [" + repo + "]\n"
	}
	for _, gen := range []string{"configMapGenerator", "ConfigMapGenerator", "secretGenerator", "SecretGenerator"} {
		for _, files := range []string{"files", "Files", "FILES", "envs", "Envs"} {
			bodies[gen+" "+files] = gen + ": [{name: x, " + files + ": [" + file + "]}]\n"
		}
	}
	for _, patches := range []string{"patches", "Patches", "patchesJson6902", "PatchesJSON6902", "replacements", "Replacements"} {
		for _, path := range []string{"path", "Path", "PATH"} {
			bodies[patches+" "+path] = "resources: [cm.yaml]\n" + patches + ": [{" + path + ": " + file + ", target: {kind: ConfigMap}}]\n"
		}
	}
	for _, key := range []string{"patchesStrategicMerge", "PatchesStrategicMerge", "generators", "Generators", "transformers", "Transformers", "validators"} {
		bodies[key] = "resources: [cm.yaml]\n" + key + ": [" + file + "]\n"
	}
	for _, key := range []string{"openapi", "OpenAPI", "openAPI"} {
		for _, path := range []string{"path", "Path"} {
			bodies[key+" "+path] = "resources: [cm.yaml]\n" + key + ": {" + path + ": " + file + "}\n"
		}
	}
	for mode, sandbox := range modes(t) {
		for name, body := range bodies {
			root := tree{"app/kustomization.yaml": kust(body), "app/cm.yaml": cmA}.write(t)
			objs, err := Render(t.Context(), Options{Root: root, Path: "app", Sandbox: sandbox})
			if err == nil {
				t.Errorf("%s, %s: rendered %d objects, want an error", mode, name, len(objs))
			}
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests reached the server, want none", n)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("git ran")
	}
}

// TestOpenAPISchemaStaysInItsRender renders, many at once, a kustomization
// that sets its own OpenAPI schema under a capitalised key beside one that
// does not: each gives what it gives alone.
func TestOpenAPISchemaStaysInItsRender(t *testing.T) {
	src := filepath.Join("kustomize", "testdata", "openapi")
	files := tree{}
	for _, name := range []string{"custom/kustomization.yaml", "custom/pipeline.yaml", "custom/schema.json", "default/kustomization.yaml", "default/pipeline.yaml"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = strings.Replace(string(data), "openapi:", "OpenAPI:", 1)
	}
	root := files.write(t)
	for mode, sandbox := range modes(t) {
		alone := map[string][]string{}
		for _, dir := range []string{"custom", "default"} {
			alone[dir] = renderNames(t, Options{Root: root, Path: dir, Sandbox: sandbox})
		}
		if reflect.DeepEqual(alone["custom"], alone["default"]) {
			t.Fatalf("%s: the custom schema does not change the render: %v", mode, alone["custom"])
		}
		var wg sync.WaitGroup
		for range 5 {
			for _, dir := range []string{"custom", "default"} {
				wg.Go(func() {
					if got := renderNames(t, Options{Root: root, Path: dir, Sandbox: sandbox}); !reflect.DeepEqual(got, alone[dir]) {
						t.Errorf("%s: %s rendered beside the other gives %v, alone %v", mode, dir, got, alone[dir])
					}
				})
			}
		}
		wg.Wait()
	}
}

// renderNames renders and returns the step names of the Pipeline, which the
// schema decides.
func renderNames(t testing.TB, opts Options) []string {
	objs, err := Render(context.Background(), opts)
	if err != nil {
		t.Error(err)
		return nil
	}
	var names []string
	for _, o := range objs {
		steps, _, _ := unstructuredSlice(o.Object, "spec", "steps")
		for _, s := range steps {
			names = append(names, fmt.Sprint(s.(map[string]any)["name"]))
		}
	}
	return names
}

func unstructuredSlice(obj map[string]any, fields ...string) ([]any, bool, error) {
	var cur any = obj
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false, nil
		}
		cur = m[f]
	}
	s, ok := cur.([]any)
	return s, ok, nil
}

// TestSandboxMatchesInProcess renders the fidelity corpora both ways.
func TestSandboxMatchesInProcess(t *testing.T) {
	sandbox := testSandbox(t, time.Minute, time.Minute, 1<<30)
	for _, opts := range []Options{
		{Root: kustomizeCorpus, Path: "webapp/overlays/prod"},
		{Root: helmCorpus, Path: "shop", Engine: Helm, TargetNamespace: "shop",
			Helm: HelmOptions{ReleaseName: "web", ValuesFiles: []string{"values-prod.yaml", "values-eu.yaml"}, Values: map[string]any{"replicaCount": 3}}},
	} {
		want, err := Render(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		opts.Sandbox = sandbox
		got, err := Render(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: sandboxed render differs from in-process", opts.Path)
		}
	}
}

// TestSandboxBoundsRenders runs chart bombs against each bound and a good
// chart beside them: each bomb is LimitExceeded naming its bound, within the
// time the bound allows, and the good render is not held up.
func TestSandboxBoundsRenders(t *testing.T) {
	loop := "{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}\n" + chartCM
	tests := []struct {
		name     string
		template string
		sandbox  *Sandbox
		bound    string
	}{
		{"time", loop, testSandbox(t, 3*time.Second, time.Minute, 1<<30), "time bound of 3s"},
		{"cpu", loop, testSandbox(t, time.Minute, 2*time.Second, 1<<30), "CPU-time bound of 2s"},
		{"memory", `{{ repeat 2000000000 "x" }}` + "\n" + chartCM, testSandbox(t, time.Minute, time.Minute, 512<<20), "memory bound of 512 MiB"},
	}
	good := tree{"chart/Chart.yaml": chartYAML, "chart/templates/cm.yaml": chartCM}.write(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tree{"chart/Chart.yaml": chartYAML, "chart/templates/cm.yaml": tt.template}.write(t)
			done := make(chan error, 1)
			go func() {
				_, err := Render(t.Context(), Options{Root: root, Path: "chart", Helm: HelmOptions{ReleaseName: "bomb"}, Sandbox: tt.sandbox})
				done <- err
			}()
			if _, err := Render(t.Context(), Options{Root: good, Path: "chart", Helm: HelmOptions{ReleaseName: "good"}, Sandbox: tt.sandbox}); err != nil {
				t.Errorf("a good chart beside the bomb: %v", err)
			}
			err := <-done
			var e *Error
			if !errors.As(err, &e) || e.Reason != LimitExceeded || !strings.Contains(err.Error(), tt.bound) {
				t.Errorf("bomb: %v, want LimitExceeded naming the %s", err, tt.bound)
			}
		})
	}
}

// TestSandboxSpare renders three trees in turn with one Sandbox: the spare
// started after a render takes the next one, in the next tree's directory,
// and a spare that died while it waited is replaced by a new child.
func TestSandboxSpare(t *testing.T) {
	sandbox := testSandbox(t, time.Minute, time.Minute, 1<<30)
	render := func(name string) {
		t.Helper()
		root := tree{"app/cm.yaml": strings.ReplaceAll(cmA, "name: a", "name: "+name)}.write(t)
		objs, err := Render(t.Context(), Options{Root: root, Path: "app", Sandbox: sandbox})
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 1 || objs[0].GetName() != name {
			t.Fatalf("render of %s: %v", name, objs)
		}
	}
	render("first")
	spare := waitSpare(t, sandbox)
	render("second")
	if next := waitSpare(t, sandbox); next == spare {
		t.Fatalf("the spare %d did not take the second render", spare.cmd.Process.Pid)
	}
	dead := waitSpare(t, sandbox)
	if err := dead.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// Until every thread has exited, leaving it for the sandbox to reap.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, dead.cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	render("third")
}

// waitSpare waits for the sandbox's spare child.
func waitSpare(t testing.TB, s *Sandbox) *child {
	t.Helper()
	for range 600 {
		s.mu.Lock()
		c := s.spare
		s.mu.Unlock()
		if c != nil {
			return c
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no spare child after 30s")
	return nil
}

// TestWarmUpBuilds: the spare's warm-up is a build that works, with its
// strategic merge patch applied.
func TestWarmUpBuilds(t *testing.T) {
	if err := warmUp(); err != nil {
		t.Fatal(err)
	}
	out, err := kustomize.Build(warmUpFS, "app")
	if err != nil || !strings.Contains(string(out), "image: web:3") {
		t.Fatalf("warm-up build: %v\n%s", err, out)
	}
}
