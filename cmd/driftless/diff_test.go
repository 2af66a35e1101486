package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// TestDiffFollowsAnAppSourceThroughItsLife diffs an AppSource before its
// first apply, right after it, after a commit, and against a local edit.
func TestDiffFollowsAnAppSourceThroughItsLife(t *testing.T) {
	ns := newNamespace(t, "cli-diff")
	app := newGitApp(t, ns)
	app.repo.WriteFile("deploy/config.yaml", configMap("web-config", "mode", "blue"))
	app.repo.WriteFile("deploy/old.yaml", configMap("web-old", "kept", "no"))
	app.repo.WriteFile("deploy/shared.yaml", configMap("web-shared", "owner", "driftless"))
	app.repo.WriteFile("deploy/creds.yaml",
		"apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-creds\nstringData:\n  token: "+secretCanary+"\n")
	first := app.repo.Commit("first")
	obj := app.appSource(t, "web")
	// Someone else already manages a field the render sets.
	shared := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "web-shared", "namespace": ns},
		"data":     map[string]any{"owner": "kubectl"},
	}}
	if err := k8s.Apply(t.Context(), client.ApplyConfigurationFromUnstructured(shared), client.FieldOwner("kubectl")); err != nil {
		t.Fatal(err)
	}
	names := []string{ns, "NAMESPACE", "main@sha1:" + first, "REVISION"}

	res := driftless(t, "diff", "appsource", "web", "-n", ns).must(t, diffChanges)
	golden(t, "diff-create.golden", normalize(res.stdout, names...))
	assertNoSecret(t, res)

	// Applied by the controller: nothing left to do.
	stop := startManager(t, ns)
	waitApplied(t, obj, "main@sha1:"+first)
	stop()
	res = driftless(t, "diff", "web", "-n", ns).must(t, diffNone)
	golden(t, "diff-none.golden", normalize(res.stdout, names...))

	// A commit changes a value and the Secret, and removes an object.
	app.repo.WriteFile("deploy/config.yaml", configMap("web-config", "mode", "green"))
	app.repo.WriteFile("deploy/creds.yaml",
		"apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-creds\nstringData:\n  token: "+secretCanary+"-2\n")
	app.repo.Remove("deploy/old.yaml")
	second := app.repo.Commit("second")
	names = append(names, "main@sha1:"+second, "REVISION")
	res = driftless(t, "diff", "appsource/web", "-n", ns).must(t, diffChanges)
	golden(t, "diff-update.golden", normalize(res.stdout, names...))
	assertNoSecret(t, res)
	res = driftless(t, "diff", "web", "-n", ns, "--output", "markdown").must(t, diffChanges)
	golden(t, "diff-update.md.golden", normalize(res.stdout, names...))
	assertNoSecret(t, res)
	res = driftless(t, "diff", "web", "-n", ns, "-o", "json").must(t, diffChanges)
	var report struct {
		Changed bool `json:"changed"`
		Objects []struct{ Object, Action string }
	}
	if err := json.Unmarshal([]byte(res.stdout), &report); err != nil || !report.Changed || len(report.Objects) != 4 {
		t.Errorf("-o json: %v, %+v", err, report)
	}

	// An uncommitted edit of the working copy, previewed before a commit.
	app.repo.WriteFile("deploy/config.yaml", configMap("web-config", "mode", "local"))
	local := filepath.Join(app.repo.Work, "deploy")
	res = driftless(t, "diff", "web", "-n", ns, "--path", local).must(t, diffChanges)
	golden(t, "diff-local.golden", normalize(res.stdout, append(names, "local:"+local, "LOCAL")...))
}

func TestDiffErrorsExitWithTwo(t *testing.T) {
	ns := newNamespace(t, "cli-diff-errors")
	app := newGitApp(t, ns)
	app.repo.WriteFile("deploy/broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n")
	app.repo.Commit("broken")
	app.appSource(t, "broken")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"diff", "missing", "-n", ns}, `AppSource "missing" not found`},
		{[]string{"diff", "broken", "-n", ns}, "deploy/broken.yaml"},
		{[]string{"diff", "-n", ns}, "name one AppSource"},
		{[]string{"diff", "broken", "--no-such-flag"}, "unknown flag"},
		{[]string{"diff", "broken", "-o", "yaml"}, `--output "yaml"`},
		{[]string{"diff", "broken", "-n", ns, "--path", filepath.Join(t.TempDir(), "missing")}, "missing"},
	} {
		res := driftless(t, tc.args...).must(t, diffError)
		if !strings.Contains(res.stderr, tc.want) {
			t.Errorf("%v: stderr %q does not contain %q", tc.args, res.stderr, tc.want)
		}
	}
}

// waitApplied waits until the controller applied revision and is Ready.
func waitApplied(t *testing.T, obj *v1alpha1.AppSource, revision string) {
	t.Helper()
	eventually(t, "applied "+revision, func(ctx context.Context) (bool, error) {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		return err == nil && obj.Status.LastAppliedRevision == revision &&
			apimeta.IsStatusConditionTrue(obj.Status.Conditions, v1alpha1.ReadyCondition), nil
	})
}

func assertNoSecret(t *testing.T, res result) {
	t.Helper()
	if strings.Contains(res.stdout+res.stderr, secretCanary) {
		t.Errorf("a Secret value is printed:\n%s", res.stdout)
	}
}
