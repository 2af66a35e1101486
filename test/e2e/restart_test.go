package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// The render must be big enough that its first apply is still running when
// the test sees the first few ConfigMaps, even on a small, busy machine.
const (
	restartConfigMaps = 2000 // rendered ConfigMaps, beside one Deployment
	restartKillAfter  = 100  // kill once at least this many exist
	restartRemoved    = 50   // created before the kill, then removed from Git
)

// A controller killed mid-apply leaves objects that no status records. The
// next process must converge on Git: every rendered object applied once,
// labelled, and listed in the inventory.
func TestManagerKilledMidApplyConverges(t *testing.T) {
	bin := buildManager(t)
	app := newGitApp(t)
	names := make([]string, restartConfigMaps)
	for i := range names {
		names[i] = fmt.Sprintf("cfg-%04d", i)
	}
	app.repo.WriteFile("deploy/configmaps.yaml", configMapsYAML(names))
	app.repo.Commit("many ConfigMaps")
	obj := app.appSource(t, "web")

	started := time.Now()
	killed := startManagerProcess(t, bin, "first")
	eventually(t, 3*time.Minute, "first ConfigMaps applied", func(ctx context.Context) (bool, error) {
		if killed.exited() {
			return false, fmt.Errorf("manager first exited on its own")
		}
		owned, err := ownedConfigMaps(ctx, obj)
		return len(owned) >= restartKillAfter, err
	})
	killed.kill(t)
	atKill, err := ownedConfigMaps(t.Context(), obj)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SIGKILL %s after start, with %d of %d ConfigMaps applied",
		time.Since(started).Round(100*time.Millisecond), len(atKill), restartConfigMaps)
	if len(atKill) >= restartConfigMaps {
		t.Fatalf("the whole apply of %d ConfigMaps finished before the kill: raise restartConfigMaps", restartConfigMaps)
	}
	if err := get(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	t.Logf("status.inventory after the kill: %d entries", inventoryLen(obj))

	// Git now drops ConfigMaps the killed process had already created.
	removed := slices.Sorted(func(yield func(string) bool) {
		for name := range atKill {
			if !yield(name) {
				return
			}
		}
	})[:restartRemoved]
	kept := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(removed, n) })
	app.repo.WriteFile("deploy/configmaps.yaml", configMapsYAML(kept))
	commit := app.repo.Commit("drop some ConfigMaps")

	start := time.Now()
	startManagerProcess(t, bin, "second")
	waitApplied(t, obj, commit)
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	t.Logf("second manager Ready at %s after %s", commit[:8], time.Since(start).Round(time.Second))

	assertConverged(t, obj, kept)
	assertRemovedAfterRestart(t, obj, removed)
}

// assertConverged checks that every rendered object exists once, labelled as
// ours, that the inventory lists exactly them, and that the Deployment rolled out.
func assertConverged(t *testing.T, obj *v1alpha1.AppSource, configMaps []string) {
	t.Helper()
	owned, err := ownedConfigMaps(t.Context(), obj)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{inventoryID(obj.Namespace, "web", appsv1.SchemeGroupVersion.WithKind("Deployment")): true}
	for _, name := range configMaps {
		want[inventoryID(obj.Namespace, name, corev1.SchemeGroupVersion.WithKind("ConfigMap"))] = true
		if _, ok := owned[name]; !ok {
			t.Errorf("ConfigMap %s of Git is missing or not labelled as ours", name)
		}
	}
	seen := map[string]bool{}
	for _, e := range obj.Status.Inventory.Entries {
		switch {
		case seen[e.ID]:
			t.Errorf("inventory lists %s twice", e.ID)
		case !want[e.ID]:
			t.Errorf("inventory lists %s, which Git does not render", e.ID)
		}
		seen[e.ID] = true
	}
	if len(seen) != len(want) {
		t.Errorf("inventory has %d distinct entries, want the %d rendered objects", len(seen), len(want))
	}

	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: obj.Namespace}}
	waitRolledOut(t, deploy, 3)
	if err := get(t.Context(), deploy); err != nil {
		t.Fatal(err)
	}
	if !ownedBy(deploy.Labels, obj) {
		t.Errorf("Deployment labels %v, want ours", deploy.Labels)
	}
	var sets appsv1.ReplicaSetList
	if err := k8s.List(t.Context(), &sets, client.InNamespace(obj.Namespace)); err != nil {
		t.Fatal(err)
	}
	if len(sets.Items) != 1 {
		t.Errorf("%d ReplicaSets, want the one of an unchanged template", len(sets.Items))
	}
}

// assertRemovedAfterRestart checks that the ConfigMaps the killed process
// created, and Git then dropped, were pruned: the inventory names every
// object before it is created, so a kill mid-apply orphans nothing.
func assertRemovedAfterRestart(t *testing.T, obj *v1alpha1.AppSource, removed []string) {
	t.Helper()
	for _, name := range removed {
		err := k8s.Get(t.Context(), client.ObjectKey{Namespace: obj.Namespace, Name: name}, &corev1.ConfigMap{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("ConfigMap %s, created before the kill and removed from Git, was not pruned: %v", name, err)
		}
	}
}

// ownedConfigMaps lists the names and labels of the ConfigMaps labelled as
// applied by obj.
func ownedConfigMaps(ctx context.Context, obj *v1alpha1.AppSource) (map[string]map[string]string, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
	err := k8s.List(ctx, list, client.InNamespace(obj.Namespace), client.MatchingLabels{v1alpha1.NameLabel: obj.Name})
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]string, len(list.Items))
	for _, item := range list.Items {
		if ownedBy(item.Labels, obj) {
			out[item.Name] = item.Labels
		}
	}
	return out, nil
}

func ownedBy(labels map[string]string, obj *v1alpha1.AppSource) bool {
	return labels[v1alpha1.NameLabel] == obj.Name && labels[v1alpha1.NamespaceLabel] == obj.Namespace
}

// inventoryID is the ID status.inventory gives an object.
func inventoryID(namespace, name string, gvk schema.GroupVersionKind) string {
	return namespace + "_" + name + "_" + gvk.Group + "_" + gvk.Kind
}

func inventoryLen(obj *v1alpha1.AppSource) int {
	if obj.Status.Inventory == nil {
		return 0
	}
	return len(obj.Status.Inventory.Entries)
}

// configMapsYAML renders one ConfigMap per name, each with a few kilobytes
// of data so that applying them takes a while.
func configMapsYAML(names []string) string {
	value := strings.Repeat("x", 256)
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata:\n", name)
		for k := range 8 {
			fmt.Fprintf(&b, "  key%d: %s\n", k, value)
		}
	}
	return b.String()
}

// buildManager builds cmd/manager into a temporary folder.
func buildManager(t testing.TB) string {
	t.Helper()
	return buildBinary(t, "./cmd/manager")
}

// managerProcess is a manager binary, or a peer's controller, running
// against the test cluster.
type managerProcess struct {
	name    string
	cmd     *exec.Cmd
	log     string        // its stdout and stderr
	done    chan struct{} // closed once it exited
	workDir string        // its --work-dir, for a manager
}

// startManagerProcess starts bin, with args added to its flags, against the
// test cluster; the process is killed when the test ends, and its log's tail
// shown if the test failed.
func startManagerProcess(t testing.TB, bin, name string, args ...string) *managerProcess {
	t.Helper()
	dir := t.TempDir()
	p := startProcess(t, name, exec.Command(bin, append([]string{"--kubeconfig=" + cluster.Kubeconfig, "--metrics-bind-address=0",
		"--health-probe-bind-address=0", "--leader-elect=false", "--work-dir=" + dir, "--log-level=info"}, args...)...))
	p.workDir = dir
	return p
}

// startProcess starts cmd with its output in a log file; the process is
// killed when the test ends, and its log's tail shown if the test failed.
func startProcess(t testing.TB, name string, cmd *exec.Cmd) *managerProcess {
	t.Helper()
	p := &managerProcess{name: name, cmd: cmd, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	out, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		out.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill(t)
		if t.Failed() {
			t.Logf("%s log, last lines:\n%s", name, tail(p.log, 40))
		}
	})
	return p
}

func (p *managerProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL, so that nothing of a graceful shutdown runs, and waits
// for the process to be gone.
func (p *managerProcess) kill(t testing.TB) {
	t.Helper()
	if p.exited() {
		return
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Errorf("kill manager %s: %v", p.name, err)
	}
	<-p.done
}

// tail is the last n lines of the file at path.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}
