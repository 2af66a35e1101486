package apply_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/driftless-dev/driftless/internal/apply"
)

func TestPruneDeletesWhatLeftTheRender(t *testing.T) {
	ns := testNamespace()
	m, opts := newManager(t, ns)
	before := mustApply(t, m, objects(t, namespace(ns), configMap(ns, "a", "1"), configMap(ns, "b", "1"),
		`{apiVersion: v1, kind: ConfigMap, metadata: {name: keep, namespace: `+ns+`, annotations: {deploy.driftless.dev/prune: disabled}}}`), opts)
	after := mustApply(t, m, objects(t, namespace(ns), configMap(ns, "a", "1")), opts)

	cs, kept, err := m.Prune(context.Background(), apply.Stale(entries(before), entries(after)), opts)
	if err != nil || len(kept) != 0 {
		t.Fatalf("prune: %v, kept %v", err, kept)
	}
	if got := cs.String(); got != "ConfigMap/"+ns+"/b deleted\nConfigMap/"+ns+"/keep skipped: deploy.driftless.dev/prune: disabled\n" {
		t.Errorf("change set:\n%s", got)
	}
	if exists(t, ns, "b") || !exists(t, ns, "keep") || !exists(t, ns, "a") {
		t.Error("want b deleted, a and keep kept")
	}
}

func TestPruneRefusesAnObjectNoLongerLabelledAsOurs(t *testing.T) {
	ns := testNamespace()
	m, opts := newManager(t, ns)
	before := mustApply(t, m, objects(t, namespace(ns), configMap(ns, "taken", "1")), opts)
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "taken"}, cm); err != nil {
		t.Fatal(err)
	}
	cm.Labels[apply.NameLabel] = "someone-else"
	if err := k8s.Update(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	cs, _, err := m.Prune(context.Background(), entries(before[1:]), opts)
	if err != nil || cs.Count(apply.Skipped) != 1 || !exists(t, ns, "taken") {
		t.Errorf("prune: %v %q, want the ConfigMap skipped and kept", err, cs.String())
	}
}

func TestPruneDeniedByAdmissionStaysInInventory(t *testing.T) {
	ns := testNamespace()
	m, opts := newManager(t, ns)
	before := mustApply(t, m, objects(t, namespace(ns), configMap(ns, "guarded", "1"), configMap(ns, "free", "1")), opts)
	denyDelete(t, ns, "guarded")

	cs, kept, err := m.Prune(context.Background(), apply.Stale(entries(before), entries(before[:1])), opts)
	if err == nil || !strings.Contains(err.Error(), "ConfigMap/"+ns+"/guarded") {
		t.Errorf("error = %v, want it to name ConfigMap/%s/guarded", err, ns)
	}
	if len(kept) != 1 || !strings.Contains(kept[0].ID, "guarded") {
		t.Errorf("kept = %v, want only the guarded ConfigMap", kept)
	}
	if cs.Count(apply.Deleted) != 1 || !exists(t, ns, "guarded") || exists(t, ns, "free") {
		t.Errorf("change set %q: want free deleted, guarded kept", cs.String())
	}
}

func TestApplyDeniedMidwayNamesTheObject(t *testing.T) {
	ns := testNamespace()
	m, opts := newManager(t, ns)
	mustApply(t, m, objects(t, namespace(ns)), opts)
	denyCreate(t, ns, "denied")

	cs, err := m.Apply(context.Background(), objects(t, configMap(ns, "ok-1", "1"), configMap(ns, "denied", "1"), configMap(ns, "ok-2", "1")), opts)
	var objErr *apply.ObjectError
	if !errors.As(err, &objErr) || objErr.Object != "ConfigMap/"+ns+"/denied" {
		t.Errorf("error = %v, want an ObjectError naming ConfigMap/%s/denied", err, ns)
	}
	if cs.Count(apply.Created) != 2 {
		t.Errorf("change set %q, want the other two created", cs.String())
	}
}

func TestApplyImpersonatedWithoutRBACIsForbiddenNamingTheAccount(t *testing.T) {
	ns := testNamespace()
	m, opts := newManager(t, ns)
	mustApply(t, m, objects(t, namespace(ns)), opts)
	opts.Impersonate = "system:serviceaccount:" + ns + ":deployer"
	_, err := m.Apply(context.Background(), objects(t, configMap(ns, "x", "1")), opts)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), opts.Impersonate) {
		t.Errorf("error = %v, want Forbidden naming %s", err, opts.Impersonate)
	}
}

// TestApplyImpersonatedNeverLearnsWhoseObjectItCannotRead: the cache reads
// with the manager's permissions, but an account that may not read an
// object owned by another AppSource is refused as without the cache, and
// never told the owner.
func TestApplyImpersonatedNeverLearnsWhoseObjectItCannotRead(t *testing.T) {
	ns := testNamespace()
	other, otherOpts := newManager(t, ns)
	otherOpts.Owner = apply.Owner{Name: "secret-team-app", Namespace: "secret-team"}
	mustApply(t, other, objects(t, namespace(ns), configMap(ns, "theirs", "1")), otherOpts)
	waitCached(t, liveConfigMap(t, ns, "theirs"))

	m, opts := newManager(t, ns)
	opts.Impersonate = "system:serviceaccount:" + ns + ":deployer"
	_, err := m.Apply(context.Background(), objects(t, configMap(ns, "theirs", "2")), opts)
	if !apierrors.IsForbidden(err) || strings.Contains(err.Error(), "secret-team") {
		t.Errorf("error = %v, want Forbidden, naming no owner", err)
	}
}

// liveConfigMap reads a ConfigMap from the API server.
func liveConfigMap(t *testing.T, ns, name string) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
		t.Fatal(err)
	}
	return cm
}

func TestApplyInvalidSecretNeverPrintsItsValue(t *testing.T) {
	ns := testNamespace()
	m, opts := newManager(t, ns)
	const canary = "canary-7f3a9c-secret-value"
	_, err := m.Apply(context.Background(), objects(t, namespace(ns),
		`{apiVersion: v1, kind: Secret, metadata: {name: bad, namespace: `+ns+`}, type: Opaque, data: {"bad key!": `+canary+`}}`), opts)
	if err == nil {
		t.Fatal("invalid Secret applied")
	}
	if strings.Contains(err.Error(), canary) || !strings.Contains(err.Error(), "Secret/"+ns+"/bad") {
		t.Errorf("error = %v, want it to name the Secret and hide its value", err)
	}
}

func exists(t *testing.T, ns, name string) bool {
	err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &corev1.ConfigMap{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

func denyDelete(t *testing.T, ns, name string) {
	denyConfigMap(t, ns, admissionv1.Delete, "oldObject.metadata.name != '"+name+"'")
	waitDenied(t, func() error {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		return k8s.Delete(context.Background(), cm, client.DryRunAll)
	})
}

func denyCreate(t *testing.T, ns, name string) {
	denyConfigMap(t, ns, admissionv1.Create, "object.metadata.name != '"+name+"'")
	waitDenied(t, func() error {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		return k8s.Create(context.Background(), cm, client.DryRunAll)
	})
}

// denyConfigMap installs a ValidatingAdmissionPolicy refusing op on ConfigMaps of ns unless expr holds.
func denyConfigMap(t *testing.T, ns string, op admissionv1.OperationType, expr string) {
	name := fmt.Sprintf("deny-%s-%s", strings.ToLower(string(op)), ns)
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{op},
					Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
				},
			}}},
			Validations: []admissionv1.Validation{{Expression: expr, Message: "denied by test policy"}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns},
			}},
		},
	}
	for _, obj := range []client.Object{policy, binding} {
		if err := k8s.Create(context.Background(), obj); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), obj) })
	}
}

// waitDenied waits until the admission policy is in force.
func waitDenied(t *testing.T, try func() error) {
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		err := try()
		return err != nil && apierrors.IsInvalid(err) || apierrors.IsForbidden(err), nil
	})
	if err != nil {
		t.Fatalf("admission policy never took effect: %v", err)
	}
}
