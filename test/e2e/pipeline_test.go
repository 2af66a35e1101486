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
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/controllers"
	"github.com/driftless-dev/driftless/internal/source/gittest"
)

// gitApp is a namespace with a Git repository holding deploy/deployment.yaml
// and the Secret to read it.
type gitApp struct {
	ns     string
	server *gittest.HTTPSServer
	repo   *gittest.Repo
}

func newGitApp(t testing.TB) *gitApp {
	t.Helper()
	app := &gitApp{ns: newNamespace(t), server: gittest.NewHTTPS(t, gittest.HTTPSOptions{Username: "u", Password: "canary-pw-6a1f"})}
	app.repo = app.server.NewRepo(t, "app.git")
	app.repo.WriteFile("deploy/deployment.yaml", deploymentYAML("example.com/web:1"))
	app.repo.Commit("first")
	auth := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git-auth", Namespace: app.ns, Labels: watched}, Data: map[string][]byte{
		"username": []byte("u"), "password": []byte(app.server.Password), "caFile": app.server.CAPEM,
	}}
	if err := k8s.Create(t.Context(), auth); err != nil {
		t.Fatal(err)
	}
	return app
}

// appSource returns an AppSource of the app's repository at path deploy.
func (a *gitApp) appSource(t testing.TB, name string, opts ...func(*v1alpha1.AppSource)) *v1alpha1.AppSource {
	t.Helper()
	obj := appSource(name, a.ns, append([]func(*v1alpha1.AppSource){
		withURL(a.server.RepoURL("app.git")), withPath("deploy"), withInterval(10 * time.Second),
		func(s *v1alpha1.AppSource) {
			s.Spec.Source.Git.SecretRef = &v1alpha1.LocalObjectReference{Name: "git-auth"}
			s.Spec.TargetNamespace = a.ns
		},
	}, opts...)...)
	createAppSource(t, obj)
	return obj
}

func (a *gitApp) deployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: a.ns, Name: "web"}, d); err != nil {
		t.Fatalf("Deployment web: %v", err)
	}
	return d
}

func TestMissingPathIsAnErrorAndDeletesNothing(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	obj := app.appSource(t, "web")
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)

	app.repo.Remove("deploy/deployment.yaml")
	app.repo.WriteFile("other/README.md", "moved away\n")
	app.repo.Commit("path gone")
	requestReconcile(t, obj)
	waitReady(t, obj, metav1.ConditionFalse, v1alpha1.PathInvalidReason)
	app.deployment(t) // still there
	if len(obj.Status.Inventory.Entries) != 1 {
		t.Errorf("inventory %v, want the Deployment kept", obj.Status.Inventory.Entries)
	}
}

func TestDriftIsRevertedAtTheInterval(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	obj := app.appSource(t, "web")
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)

	d := app.deployment(t)
	d.Spec.Replicas = ptr.To[int32](7)
	if err := k8s.Update(t.Context(), d, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 45*time.Second, "replicas reverted to Git's 3", func(ctx context.Context) (bool, error) {
		err := get(ctx, d)
		return err == nil && *d.Spec.Replicas == 3, err
	})
}

func TestSuspendChangesNothingAndDeletionPrunes(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	obj := app.appSource(t, "web")
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)

	update(t, obj, func(a *v1alpha1.AppSource) { a.Spec.Suspend = true })
	waitReady(t, obj, metav1.ConditionUnknown, v1alpha1.SuspendedReason)
	app.repo.WriteFile("deploy/deployment.yaml", deploymentYAML("example.com/web:suspended"))
	app.repo.Commit("while suspended")
	requestReconcile(t, obj)
	// The request handled proves a reconcile ran while suspended.
	token := obj.Annotations[v1alpha1.ReconcileRequestAnnotation]
	eventually(t, time.Minute, "the request handled", func(ctx context.Context) (bool, error) {
		err := get(ctx, obj)
		return err == nil && obj.Status.LastHandledReconcileAt == token, err
	})
	if img := app.deployment(t).Spec.Template.Spec.Containers[0].Image; img != "example.com/web:1" {
		t.Errorf("suspended AppSource applied %s", img)
	}

	update(t, obj, func(a *v1alpha1.AppSource) { a.Spec.Suspend = false })
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	if err := k8s.Delete(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "Deployment pruned with its AppSource", func(ctx context.Context) (bool, error) {
		err := k8s.Get(ctx, client.ObjectKey{Namespace: app.ns, Name: "web"}, &appsv1.Deployment{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
}

func TestDeletionWithoutPruneOrphans(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	obj := app.appSource(t, "web", func(s *v1alpha1.AppSource) { s.Spec.Prune = ptr.To(false) })
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	if err := k8s.Delete(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "AppSource gone", func(ctx context.Context) (bool, error) {
		err := get(ctx, obj)
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	app.deployment(t) // still there
}

func TestDependsOnWaitsAndRefusesCycles(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	after := app.appSource(t, "after", withPath("late"), func(s *v1alpha1.AppSource) {
		s.Spec.DependsOn = []v1alpha1.AppSourceReference{{Name: "first"}}
	})
	waitReady(t, after, metav1.ConditionUnknown, v1alpha1.DependencyNotReadyReason)

	app.repo.WriteFile("late/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late}\n")
	app.repo.Commit("late")
	first := app.appSource(t, "first")
	waitReady(t, first, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	waitReady(t, after, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)

	cycleA := app.appSource(t, "cycle-a", func(s *v1alpha1.AppSource) { s.Spec.DependsOn = []v1alpha1.AppSourceReference{{Name: "cycle-b"}} })
	app.appSource(t, "cycle-b", func(s *v1alpha1.AppSource) { s.Spec.DependsOn = []v1alpha1.AppSourceReference{{Name: "cycle-a"}} })
	requestReconcile(t, cycleA)
	waitReady(t, cycleA, metav1.ConditionFalse, v1alpha1.DependencyNotReadyReason)
	msg := apimeta.FindStatusCondition(cycleA.Status.Conditions, v1alpha1.ReadyCondition).Message
	if !strings.Contains(msg, "cycle") || !apimeta.IsStatusConditionTrue(cycleA.Status.Conditions, v1alpha1.StalledCondition) {
		t.Errorf("cycle reported as %q, want Stalled naming the cycle", msg)
	}
}

// With a default service account, an AppSource that names none applies as
// that account of its namespace, and gets only what RBAC grants it.
func TestDefaultServiceAccountLocksTenantsDown(t *testing.T) {
	startManager(t, func(c *controllers.Config) { c.DefaultServiceAccount = "default" })
	app := newGitApp(t)
	obj := app.appSource(t, "web")
	waitReady(t, obj, metav1.ConditionFalse, v1alpha1.AccessDeniedReason)
	msg := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ReadyCondition).Message
	if !strings.Contains(msg, "system:serviceaccount:"+app.ns+":default") {
		t.Errorf("message %q does not name the impersonated account", msg)
	}
	err := k8s.Get(t.Context(), client.ObjectKey{Namespace: app.ns, Name: "web"}, &appsv1.Deployment{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("Deployment applied without RBAC: %v", err)
	}
}
