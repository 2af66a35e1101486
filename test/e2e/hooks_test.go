package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/localcluster"
)

// hookChart is a chart whose pre-install and pre-upgrade hooks are a
// ConfigMap (weight -5) and then a migration Job (weight 0, replaced by
// each release, failing when failMigration is set), and whose post-upgrade
// hooks are a smoke-test Job (weight -1, failing when failSmoke is set) and
// a ConfigMap.
var hookChart = map[string]string{
	"chart/Chart.yaml":  "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
	"chart/values.yaml": "tag: v1\nfailMigration: false\n",
	"chart/templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "example.com/web:{{ .Values.tag }}"}]
`,
	"chart/templates/schema.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: schema
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "-5"
data: {tag: "{{ .Values.tag }}"}
`,
	"chart/templates/migrate.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  backoffLimit: 0
  template:
    metadata:
      labels:
        app: migrate
{{- if .Values.failMigration }}
        ` + localcluster.FailLabel + `: "true"
{{- end }}
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: "example.com/migrate:{{ .Values.tag }}"}]
`,
	"chart/templates/smoke.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: smoke
  annotations:
    helm.sh/hook: post-upgrade
    helm.sh/hook-weight: "-1"
spec:
  backoffLimit: 0
  template:
    metadata:
      labels:
        app: smoke
{{- if .Values.failSmoke }}
        ` + localcluster.FailLabel + `: "true"
{{- end }}
    spec:
      restartPolicy: Never
      containers: [{name: smoke, image: "example.com/smoke:{{ .Values.tag }}"}]
`,
	"chart/templates/announce.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: announce
  annotations:
    helm.sh/hook: post-upgrade
    helm.sh/hook-delete-policy: before-hook-creation
data: {tag: "{{ .Values.tag }}"}
`,
}

// TestHelmHooksRunInOrder releases a chart with hooks: on install its
// pre-install hooks run (and no post-upgrade one); on upgrade the
// ConfigMap hook, then the migration Job, each of the new release, and
// the Job completes before the Deployment changes, as a watch of the
// cluster sees them; the post-upgrade hook runs once the Deployment is
// healthy. Hooks are in no inventory. A migration that fails fails the
// release, and nothing else of it is applied.
func TestHelmHooksRunInOrder(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	for name, content := range hookChart {
		app.repo.WriteFile(name, content)
	}
	app.repo.Commit("a chart with hooks")
	seen := watchOrder(t, app.ns)
	obj := app.appSource(t, "shop", withPath("chart"), func(s *v1alpha1.AppSource) {
		s.Spec.Render = &v1alpha1.Render{Helm: &v1alpha1.HelmRender{}}
		s.Spec.Strategy.Rolling = &v1alpha1.RollingStrategy{AutoRollback: true}
	})
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	if hs := obj.Status.Hooks; hs == nil || !hs.Install || !hs.PreDone || !hs.PostDone {
		t.Fatalf("status.hooks %+v, want the install's hooks done", hs)
	}
	for _, e := range obj.Status.Inventory.Entries {
		if strings.Contains(e.ID, "migrate") || strings.Contains(e.ID, "schema") || strings.Contains(e.ID, "announce") {
			t.Errorf("inventory holds hook %s", e.ID)
		}
	}
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: app.ns, Name: "announce"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Errorf("the post-upgrade hook ran on install: %v", err)
	}
	want := []string{"ConfigMap/schema v1", "Job/migrate complete", "Deployment/web example.com/web:v1"}
	if got := seen.order(want); !slices.Equal(got, want) {
		t.Errorf("install: seen in the order %v, want %v", got, want)
	}

	app.repo.WriteFile("chart/values.yaml", "tag: v2\nfailMigration: false\n")
	app.repo.Commit("v2, migrated first")
	requestReconcile(t, obj)
	eventually(t, time.Minute, "v2 released with its post-upgrade hook", func(ctx context.Context) (bool, error) {
		cm := &corev1.ConfigMap{}
		err := k8s.Get(ctx, client.ObjectKey{Namespace: app.ns, Name: "announce"}, cm)
		return err == nil && cm.Data["tag"] == "v2", client.IgnoreNotFound(err)
	})
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	want = []string{"ConfigMap/schema v2", "Job/migrate complete", "Deployment/web example.com/web:v2", "Job/smoke complete", "ConfigMap/announce v2"}
	if got := seen.order(want); !slices.Equal(got, want) {
		t.Errorf("upgrade: seen in the order %v, want %v", got, want)
	}

	app.repo.WriteFile("chart/values.yaml", "tag: v3\nfailMigration: true\n")
	app.repo.Commit("v3, whose migration fails")
	requestReconcile(t, obj)
	waitReady(t, obj, metav1.ConditionFalse, v1alpha1.HookFailedReason)
	msg := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ReadyCondition).Message
	if !strings.Contains(msg, "pre-upgrade hook Job/"+app.ns+"/migrate") {
		t.Errorf("Ready message %q does not name the hook", msg)
	}
	d := &appsv1.Deployment{}
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: app.ns, Name: "web"}, d); err != nil || d.Spec.Template.Spec.Containers[0].Image != "example.com/web:v2" {
		t.Errorf("the Deployment changed although its release's migration failed: %v", err)
	}
	if seen.has("ConfigMap/announce v3") {
		t.Error("the post-upgrade hook of the failed release ran")
	}

	// A post-upgrade hook that fails, with autoRollback: the release is
	// undone, to the last good one.
	app.repo.WriteFile("chart/values.yaml", "tag: v4\nfailMigration: false\nfailSmoke: true\n")
	app.repo.Commit("v4, whose smoke test fails")
	requestReconcile(t, obj)
	waitReady(t, obj, metav1.ConditionFalse, v1alpha1.RolledBackReason)
	msg = apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ReadyCondition).Message
	if !strings.Contains(msg, "post-upgrade hook Job/"+app.ns+"/smoke") {
		t.Errorf("Ready message %q does not name the hook", msg)
	}
	want = []string{"Deployment/web example.com/web:v4", "Deployment/web example.com/web:v2"}
	if got := seen.order(want); !slices.Equal(got, want) {
		t.Errorf("seen in the order %v, want %v: v4 applied, then undone", got, want)
	}
	if seen.has("ConfigMap/announce v4") {
		t.Error("a post-upgrade hook after the failed one ran")
	}
}

// orderWatch records, in the order a watch of the cluster sees them, the
// changes that matter to hooks: a ConfigMap's tag, a Job completing, a
// Deployment's image.
type orderWatch struct {
	mu     sync.Mutex
	events []string
}

func watchOrder(t *testing.T, ns string) *orderWatch {
	t.Helper()
	cs := kubernetes.NewForConfigOrDie(cfg)
	w := &orderWatch{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	watches := []func() (watch.Interface, error){
		func() (watch.Interface, error) { return cs.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{}) },
		func() (watch.Interface, error) { return cs.BatchV1().Jobs(ns).Watch(ctx, metav1.ListOptions{}) },
		func() (watch.Interface, error) { return cs.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{}) },
	}
	var started sync.WaitGroup
	for _, open := range watches {
		wi, err := open()
		if err != nil {
			t.Fatal(err)
		}
		started.Add(1)
		go func() {
			started.Done()
			for ev := range wi.ResultChan() {
				if ev.Type == watch.Deleted {
					continue
				}
				switch o := ev.Object.(type) {
				case *corev1.ConfigMap:
					w.add("ConfigMap/" + o.Name + " " + o.Data["tag"])
				case *batchv1.Job:
					for _, c := range o.Status.Conditions {
						if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
							w.add("Job/" + o.Name + " complete")
						}
					}
				case *appsv1.Deployment:
					w.add("Deployment/" + o.Name + " " + o.Spec.Template.Spec.Containers[0].Image)
				}
			}
		}()
	}
	started.Wait()
	return w
}

// add records an event, once: a change seen again (a later watch event of
// the same state) keeps its first place, until it is seen after another.
func (w *orderWatch) add(e string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.events); n == 0 || w.events[n-1] != e {
		w.events = append(w.events, e)
	}
}

// order returns the events of want in the order they were last first seen:
// each one's latest first sighting after the one before it.
func (w *orderWatch) order(want []string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var got []string
	from := 0
	for _, e := range want {
		i := slices.Index(w.events[from:], e)
		if i < 0 {
			got = append(got, fmt.Sprintf("(%s not after %v)", e, got))
			continue
		}
		got = append(got, e)
		from += i + 1
	}
	return got
}

func (w *orderWatch) has(e string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Contains(w.events, e)
}
