package apply_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/driftless-dev/driftless/internal/apply"
)

func TestDiffShowsEachActionAndHidesSecretValues(t *testing.T) {
	ns := testNamespace()
	m, opts := newManager(t, ns)
	const oldCanary, newCanary = "canary-old-51e2", "canary-new-9d07"
	secret := func(v string) string {
		return fmt.Sprintf(`{apiVersion: v1, kind: Secret, metadata: {name: creds, namespace: %s}, stringData: {token: %s}}`, ns, v)
	}
	frozen := func(v string) string {
		return fmt.Sprintf(`{apiVersion: v1, kind: ConfigMap, immutable: true, metadata: {name: frozen, namespace: %s}, data: {key: %q}}`, ns, v)
	}
	applied := mustApply(t, m, objects(t, namespace(ns), configMap(ns, "web", "1"), configMap(ns, "gone", "1"),
		configMap(ns, "same", "1"), secret(oldCanary), frozen("1"), configMap(ns, "shared", "1")), opts)

	// Another manager takes a field we set.
	other := objects(t, configMap(ns, "shared", "theirs"))[0]
	if err := k8s.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(other), client.FieldOwner("other"), client.ForceOwnership); err != nil {
		t.Fatal(err)
	}

	diffs, err := m.Diff(context.Background(), objects(t, namespace(ns), configMap(ns, "web", "2"), configMap(ns, "new", "1"),
		configMap(ns, "same", "1"), secret(newCanary), frozen("2"), configMap(ns, "shared", "1")), entries(applied), opts)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]apply.ObjectDiff{}
	for _, d := range diffs {
		got[d.Object] = d
		if strings.Contains(d.Diff+d.Message, "canary") {
			t.Errorf("%s diff shows a secret value:\n%s", d.Object, d.Diff)
		}
	}
	want := map[string]apply.DiffAction{
		"Namespace/" + ns: apply.DiffNone, "ConfigMap/" + ns + "/web": apply.DiffUpdate,
		"ConfigMap/" + ns + "/new": apply.DiffCreate, "ConfigMap/" + ns + "/same": apply.DiffNone,
		"Secret/" + ns + "/creds": apply.DiffUpdate, "ConfigMap/" + ns + "/frozen": apply.DiffRecreate,
		"ConfigMap/" + ns + "/shared": apply.DiffConflict, "ConfigMap/" + ns + "/gone": apply.DiffPrune,
	}
	for object, action := range want {
		if got[object].Action != action {
			t.Errorf("%s: %s (%s), want %s", object, got[object].Action, got[object].Message, action)
		}
	}
	if d := got["ConfigMap/"+ns+"/web"].Diff; !strings.Contains(d, "-  key: \"1\"") || !strings.Contains(d, "+  key: \"2\"") {
		t.Errorf("web diff:\n%s", d)
	}
	if d := got["Secret/"+ns+"/creds"].Diff; !strings.Contains(d, "token: <redacted> (changed)") {
		t.Errorf("secret diff:\n%s", d)
	}
	web := &corev1.ConfigMap{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "web"}, web); err != nil || web.Data["key"] != "1" {
		t.Errorf("after diff: %v %v, want web unchanged (key=1)", err, web.Data)
	}
	if exists(t, ns, "new") || !exists(t, ns, "gone") {
		t.Error("diff created or deleted an object")
	}
}
