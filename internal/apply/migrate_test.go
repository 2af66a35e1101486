package apply_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/driftless-dev/driftless/internal/apply"
	"github.com/driftless-dev/driftless/internal/localcluster"
)

// TestF15ClientSideApplyIsTakenOver: an object made with kubectl's
// client-side apply and then managed by Driftless loses a field removed
// from Git, and the last-applied-configuration annotation; fields someone
// else set with another manager stay.
func TestF15ClientSideApplyIsTakenOver(t *testing.T) {
	ns := testNamespace()
	m, opts := newManager(t, ns)
	mustApply(t, m, objects(t, namespace(ns)), opts)
	bin, err := localcluster.FindBinaries()
	if err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(t.TempDir(), "cm.yaml")
	doc := "{apiVersion: v1, kind: ConfigMap, metadata: {name: web, namespace: " + ns + "}, data: {key: a, removed: b}}"
	if err := os.WriteFile(manifest, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(filepath.Join(bin, "kubectl"), "--kubeconfig", cluster.Kubeconfig, "apply", "-f", manifest).CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	cm := liveConfigMap(t, ns, "web")
	cm.Data["theirs"] = "kept"
	editAs(t, cm, "kubectl-edit")

	mustApply(t, m, objects(t, doc), opts) // Driftless takes the object as it is in Git
	cs := mustApply(t, m, objects(t, configMap(ns, "web", "a")), opts)
	if cs.Count(apply.Configured) != 1 {
		t.Errorf("change set %q, want the ConfigMap configured", cs.String())
	}
	cm = liveConfigMap(t, ns, "web")
	if _, ok := cm.Data["removed"]; ok || cm.Data["key"] != "a" || cm.Data["theirs"] != "kept" {
		t.Errorf("data = %v, want key=a and theirs=kept, removed gone", cm.Data)
	}
	if _, ok := cm.Annotations["kubectl.kubernetes.io/last-applied-configuration"]; ok {
		t.Error("the last-applied-configuration annotation stays")
	}
	for _, f := range cm.ManagedFields {
		if f.Manager == "kubectl-client-side-apply" && f.Operation == metav1.ManagedFieldsOperationUpdate {
			t.Errorf("kubectl's client-side apply still owns fields: %s", f.FieldsV1.GetRawString())
		}
	}
}
