package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/controllers"
	"github.com/driftless-dev/driftless/internal/source/gittest"
	"github.com/driftless-dev/driftless/test/harness"
)

// startManager runs the AppSource controller until the test ends.
func startManager(t testing.TB, configure ...func(*controllers.Config)) *controllers.AppSourceReconciler {
	t.Helper()
	r, _ := harness.StartManager(t, cfg, harness.Options{Scheme: scheme, Configure: configure})
	return r
}

// waitReady waits until obj's Ready condition has status and reason.
func waitReady(t testing.TB, obj *v1alpha1.AppSource, status metav1.ConditionStatus, reason string) {
	t.Helper()
	waitReadyWithin(t, obj, 90*time.Second, status, reason)
}

// waitReadyWithin is waitReady for as long as timeout.
func waitReadyWithin(t testing.TB, obj *v1alpha1.AppSource, timeout time.Duration, status metav1.ConditionStatus, reason string) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("AppSource %s/%s status: %+v", obj.Namespace, obj.Name, obj.Status)
		}
	})
	eventually(t, timeout, "Ready="+string(status)+" "+reason, func(ctx context.Context) (bool, error) {
		if err := get(ctx, obj); err != nil {
			return false, nil
		}
		ready := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ReadyCondition)
		return ready != nil && ready.Status == status && ready.Reason == reason &&
			obj.Status.ObservedGeneration == obj.Generation, nil
	})
}

func TestUnreachableSourceIsReportedAndNothingIsReady(t *testing.T) {
	startManager(t)
	ns := newNamespace(t)
	obj := appSource("web", ns, withURL("https://127.0.0.1:1/nothing.git"))
	createAppSource(t, obj)
	waitReady(t, obj, metav1.ConditionFalse, v1alpha1.SourceUnavailableReason)
}

func TestAppSourceFollowsGit(t *testing.T) {
	startManager(t)
	ns := newNamespace(t)
	server := gittest.NewHTTPS(t, gittest.HTTPSOptions{Username: "deployer", Password: "canary-git-password-42"})
	repo := server.NewRepo(t, "app.git")
	repo.WriteFile("deploy/deployment.yaml", deploymentYAML("example.com/web:1"))
	repo.WriteFile("deploy/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {mode: blue}\n")
	first := repo.Commit("first")

	auth := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git-auth", Namespace: ns}, Data: map[string][]byte{
		"username": []byte(server.Username), "password": []byte(server.Password), "caFile": server.CAPEM,
	}}
	if err := k8s.Create(t.Context(), auth); err != nil {
		t.Fatal(err)
	}
	obj := appSource("web", ns, withURL(server.RepoURL("app.git")), withPath("deploy"), func(a *v1alpha1.AppSource) {
		a.Spec.Source.Git.SecretRef = &v1alpha1.LocalObjectReference{Name: "git-auth"}
		a.Spec.TargetNamespace = ns
		a.Spec.Interval = metav1.Duration{Duration: 10 * time.Second}
	})
	createAppSource(t, obj)
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	if want := "main@sha1:" + first; obj.Status.LastAppliedRevision != want {
		t.Errorf("lastAppliedRevision = %q, want %q", obj.Status.LastAppliedRevision, want)
	}
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}}
	waitRolledOut(t, deploy, 3)

	// A broken commit fails the build and touches nothing.
	repo.WriteFile("deploy/broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n")
	repo.Commit("broken")
	requestReconcile(t, obj)
	waitReady(t, obj, metav1.ConditionFalse, v1alpha1.BuildFailedReason)
	if !strings.Contains(apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ReadyCondition).Message, "deploy/broken.yaml") {
		t.Errorf("BuildFailed message does not name the file: %+v", obj.Status.Conditions)
	}
	waitRolledOut(t, deploy, 3)

	// The next commit fixes it, changes the image and removes the ConfigMap.
	repo.Remove("deploy/broken.yaml")
	repo.Remove("deploy/config.yaml")
	repo.WriteFile("deploy/deployment.yaml", deploymentYAML("example.com/web:2"))
	fixed := repo.Commit("fixed")
	requestReconcile(t, obj)
	eventually(t, 90*time.Second, "fixed commit applied", func(ctx context.Context) (bool, error) {
		err := get(ctx, obj)
		return err == nil && obj.Status.LastAppliedRevision == "main@sha1:"+fixed &&
			apimeta.IsStatusConditionTrue(obj.Status.Conditions, v1alpha1.ReadyCondition), err
	})
	waitRolledOut(t, deploy, 3)
	if err := get(t.Context(), deploy); err != nil {
		t.Fatal(err)
	}
	if deploy.Spec.Template.Spec.Containers[0].Image != "example.com/web:2" {
		t.Errorf("image %s, want example.com/web:2", deploy.Spec.Template.Spec.Containers[0].Image)
	}
	err := k8s.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web-config"}, &corev1.ConfigMap{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap removed from Git still there: %v", err)
	}
	assertNoCanary(t, obj, server.Password)
}

// requestReconcile asks for an immediate reconcile, as the CLI and webhooks do.
func requestReconcile(t testing.TB, obj *v1alpha1.AppSource) {
	t.Helper()
	update(t, obj, func(a *v1alpha1.AppSource) {
		if a.Annotations == nil {
			a.Annotations = map[string]string{}
		}
		a.Annotations[v1alpha1.ReconcileRequestAnnotation] = time.Now().Format(time.RFC3339Nano)
	})
}

// update changes obj with change, retrying on conflicts with the controller.
func update(t testing.TB, obj *v1alpha1.AppSource, change func(*v1alpha1.AppSource)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := get(t.Context(), obj); err != nil {
			return err
		}
		change(obj)
		return k8s.Update(t.Context(), obj)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// assertNoCanary fails when canary shows in the AppSource's status or events.
func assertNoCanary(t *testing.T, obj *v1alpha1.AppSource, canary string) {
	t.Helper()
	var events corev1.EventList
	if err := k8s.List(t.Context(), &events, client.InNamespace(obj.Namespace)); err != nil {
		t.Fatal(err)
	}
	text := ""
	for _, e := range events.Items {
		text += e.Message + "\n"
	}
	for _, c := range obj.Status.Conditions {
		text += c.Message + "\n"
	}
	if strings.Contains(text, canary) {
		t.Errorf("a secret value appears in status or events:\n%s", text)
	}
}

func deploymentYAML(image string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: ` + image + `}]}
`
}
