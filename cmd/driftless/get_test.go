package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

const commit = "4f2c9ab0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6"

// promotionChain creates web-dev, web-staging after dev and web-prod after
// staging, with the status a controller would have written.
func promotionChain(t *testing.T, ns string) {
	t.Helper()
	for _, a := range []struct{ name, after, phase string }{
		{"web-prod", "web-staging", "Previewing"}, {"web-dev", "", "Succeeded"}, {"web-staging", "web-dev", "Succeeded"},
	} {
		obj := &v1alpha1.AppSource{
			ObjectMeta: metav1.ObjectMeta{Name: a.name, Namespace: ns},
			Spec: v1alpha1.AppSourceSpec{
				Interval: metav1.Duration{Duration: time.Minute},
				Source: v1alpha1.Source{Git: v1alpha1.GitSource{
					URL: "https://git.example.com/org/app.git", Ref: v1alpha1.GitRef{Branch: "main"},
				}},
				Strategy: v1alpha1.Strategy{Type: v1alpha1.StrategyBlueGreen},
			},
		}
		if a.after != "" {
			obj.Spec.Promotion = &v1alpha1.Promotion{After: []v1alpha1.AppSourceReference{{Name: a.after}}}
		}
		if err := k8s.Create(t.Context(), obj); err != nil {
			t.Fatal(err)
		}
		setStatus(t, obj, metav1.ConditionTrue, "Applied revision main@sha1:"+commit+": 3 unchanged", v1alpha1.RolloutPhase(a.phase))
	}
}

// setStatus writes the status the controller would, through the status
// subresource.
func setStatus(t *testing.T, obj *v1alpha1.AppSource, ready metav1.ConditionStatus, msg string, phase v1alpha1.RolloutPhase) {
	t.Helper()
	obj.Status.LastAppliedRevision = "main@sha1:" + commit
	obj.Status.Rollout = &v1alpha1.RolloutStatus{Phase: phase}
	obj.Status.Conditions = []metav1.Condition{{
		Type: v1alpha1.ReadyCondition, Status: ready, Reason: v1alpha1.ReconciliationSucceededReason,
		Message: msg, LastTransitionTime: metav1.Now(),
	}}
	if err := k8s.Status().Update(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
}

func TestGetListsInPromotionOrder(t *testing.T) {
	ns := newNamespace(t, "cli-get")
	promotionChain(t, ns)

	res := driftless(t, "get", "-n", ns).must(t, 0)
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header and 3 rows:\n%s", res.stdout)
	}
	for _, h := range []string{"NAME", "READY", "REVISION", "STRATEGY", "PHASE", "AFTER", "AGE", "MESSAGE"} {
		if !strings.Contains(lines[0], h) {
			t.Errorf("header %q lacks %s", lines[0], h)
		}
	}
	for i, want := range [][]string{
		{"web-dev", "True", "main@sha1:4f2c9ab…", "BlueGreen", "Succeeded", " - "},
		{"web-staging", "True", "Succeeded", "web-dev"},
		{"web-prod", "True", "Previewing", "web-staging", "Applied revision"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i+1], w) {
				t.Errorf("row %d %q lacks %q", i+1, lines[i+1], w)
			}
		}
	}

	res = driftless(t, "get", "-A").must(t, 0)
	if !strings.HasPrefix(res.stdout, "NAMESPACE") || !hasRow(res.stdout, ns, "web-staging", "True") {
		t.Errorf("get -A:\n%s", res.stdout)
	}

	res = driftless(t, "get", "appsource", "web-prod", "-n", ns, "-o", "json").must(t, 0)
	var obj v1alpha1.AppSource
	if err := json.Unmarshal([]byte(res.stdout), &obj); err != nil || obj.Kind != "AppSource" || obj.Name != "web-prod" ||
		obj.Spec.Promotion.After[0].Name != "web-staging" {
		t.Errorf("-o json: %v\n%s", err, res.stdout)
	}
	res = driftless(t, "get", "web-dev", "web-prod", "-n", ns, "-o", "yaml").must(t, 0)
	if !strings.HasPrefix(res.stdout, "apiVersion: v1\nitems:") || strings.Count(res.stdout, "kind: AppSource") != 2 {
		t.Errorf("-o yaml of two:\n%s", res.stdout)
	}

	res = driftless(t, "get", "web-qa", "-n", ns).must(t, 1)
	if !strings.Contains(res.stderr, `AppSource "web-qa" not found in namespace "`+ns+`"`) {
		t.Errorf("stderr %q", res.stderr)
	}
	res = driftless(t, "get", "-n", newNamespace(t, "cli-get-empty")).must(t, 0)
	if !strings.Contains(res.stderr, "No AppSources found") {
		t.Errorf("empty namespace: %+v", res)
	}
}

func TestGetWatchPrintsChanges(t *testing.T) {
	ns := newNamespace(t, "cli-watch")
	promotionChain(t, ns)
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, "driftless", []string{"--kubeconfig", cluster.Kubeconfig, "get", "-n", ns, "--watch"}, out, out)
	}()
	eventually(t, "first table", func(context.Context) (bool, error) {
		return strings.Contains(out.String(), "web-staging"), nil
	})

	prod := &v1alpha1.AppSource{}
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web-prod"}, prod); err != nil {
		t.Fatal(err)
	}
	setStatus(t, prod, metav1.ConditionFalse, "health check failed", v1alpha1.RolloutAborted)
	eventually(t, "table after the change", func(context.Context) (bool, error) {
		return strings.Contains(out.String(), "health check failed"), nil
	})
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit code %d after an interrupt:\n%s", code, out.String())
	}
	if n := strings.Count(out.String(), "NAME "); n != 2 {
		t.Errorf("printed %d tables, want 2:\n%s", n, out.String())
	}
}

func TestClusterErrorsAreActionable(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("KUBECONFIG", filepath.Join(dir, "missing"))
	res := runCLI(t.Context(), "get").must(t, 1)
	if !strings.Contains(res.stderr, "no cluster configured: pass --kubeconfig") {
		t.Errorf("no kubeconfig: %q", res.stderr)
	}

	unreachable := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(unreachable, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	res = runCLI(t.Context(), "--kubeconfig", unreachable, "reconcile", "web").must(t, 1)
	if !strings.Contains(res.stderr, "cannot reach the cluster at https://127.0.0.1:1") {
		t.Errorf("unreachable: %q", res.stderr)
	}
	res = runCLI(t.Context(), "--kubeconfig", unreachable, "--context", "nope", "get").must(t, 1)
	if !strings.Contains(res.stderr, `"nope"`) {
		t.Errorf("unknown context: %q", res.stderr)
	}
}

func TestEveryCommandHelpShowsAnExample(t *testing.T) {
	for _, name := range []string{"build", "diff", "get", "reconcile", "suspend", "resume", "promote", "abort", "history"} {
		res := runCLI(t.Context(), name, "--help").must(t, 0)
		if !strings.Contains(res.stdout, "Examples:\n  # ") || !strings.Contains(res.stdout, "  driftless "+name) {
			t.Errorf("%s --help has no example:\n%s", name, res.stdout)
		}
	}
	// As a kubectl plugin, the examples say how kubectl runs it.
	var out strings.Builder
	if code := run(t.Context(), commandName("/usr/local/bin/kubectl-driftless"), []string{"get", "--help"}, &out, &out); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if !strings.Contains(out.String(), "  kubectl driftless get -A --watch") || !strings.Contains(out.String(), "kubectl driftless get [appsources]") {
		t.Errorf("plugin help:\n%s", out.String())
	}
}

// hasRow reports whether a line of table starts with cells.
func hasRow(table string, cells ...string) bool {
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) >= len(cells) && slices.Equal(f[:len(cells)], cells) {
			return true
		}
	}
	return false
}
