package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/localcluster"
)

// blueGreenApp writes a Deployment using a ConfigMap, and an active and a
// preview Service, into the app's repository and commits them.
func blueGreenApp(app *gitApp, image, config string, neverReady bool) string {
	labels := "{app: web}"
	if neverReady {
		labels = "{app: web, " + localcluster.NeverReadyLabel + `: "true"}`
	}
	app.repo.Remove("deploy/deployment.yaml")
	app.repo.WriteFile("deploy/web.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  progressDeadlineSeconds: 5
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: `+labels+`}
    spec: {containers: [{name: web, image: `+image+`, envFrom: [{configMapRef: {name: web-config}}]}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {VERSION: "`+config+`"}
---
apiVersion: v1
kind: Service
metadata: {name: web-active}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-preview}
spec: {selector: {app: web}, ports: [{port: 80}]}
`)
	return app.repo.Commit(image + " " + config)
}

func blueGreen(auto bool) func(*v1alpha1.AppSource) {
	return withStrategy(v1alpha1.Strategy{Type: v1alpha1.StrategyBlueGreen, BlueGreen: &v1alpha1.BlueGreenStrategy{
		ActiveServices: []string{"web-active"}, PreviewServices: []string{"web-preview"},
		AutoPromotionEnabled: ptr.To(auto), ScaleDownDelaySeconds: 2, AbortScaleDownDelaySeconds: 2,
	}})
}

func TestBlueGreenReleases(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	blueGreenApp(app, "example.com/web:1", "1", false)
	obj := app.appSource(t, "web", blueGreen(true))
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	assertSelects(t, app.ns, "web-active", "blue")
	active := sampleEndpoints(t, app.ns, "web-active")

	t.Run("image change switches every active Service at once", func(t *testing.T) {
		rev := blueGreenApp(app, "example.com/web:2", "1", false)
		available := watchAvailable(t, app.ns, "web-green")
		requestReconcile(t, obj)
		waitApplied(t, obj, rev)
		assertSelects(t, app.ns, "web-active", "green")
		t.Logf("switch: endpoints all green %s after web-green was available", active.allColor("green").Sub(available()))
		waitScaledDown(t, app.ns, "web-blue")
	})

	t.Run("config-only change goes through blue-green, the old colour keeps its config", func(t *testing.T) {
		rev := blueGreenApp(app, "example.com/web:2", "2", false)
		requestReconcile(t, obj)
		waitApplied(t, obj, rev)
		assertSelects(t, app.ns, "web-active", "blue")
		if blue, green := configValue(t, app.ns, "web-config-blue"), configValue(t, app.ns, "web-config-green"); blue != "2" || green != "1" {
			t.Errorf("VERSION blue %s, green %s; want 2 and 1", blue, green)
		}
	})

	t.Run("manual promotion waits, preview Services show the new colour", func(t *testing.T) {
		update(t, obj, func(a *v1alpha1.AppSource) { *a.Spec.Strategy.BlueGreen.AutoPromotionEnabled = false })
		rev := blueGreenApp(app, "example.com/web:3", "2", false)
		requestReconcile(t, obj)
		waitPhase(t, obj, v1alpha1.RolloutPreviewing)
		assertSelects(t, app.ns, "web-preview", "green")
		assertSelects(t, app.ns, "web-active", "blue")
		update(t, obj, func(a *v1alpha1.AppSource) { a.Annotations[v1alpha1.PromoteAnnotation] = "now" })
		waitApplied(t, obj, rev)
		assertSelects(t, app.ns, "web-active", "green")
	})

	t.Run("abort on request leaves the active colour serving", func(t *testing.T) {
		blueGreenApp(app, "example.com/web:4", "2", false)
		requestReconcile(t, obj)
		waitPhase(t, obj, v1alpha1.RolloutPreviewing)
		update(t, obj, func(a *v1alpha1.AppSource) { a.Annotations[v1alpha1.AbortAnnotation] = "now" })
		waitReady(t, obj, metav1.ConditionFalse, v1alpha1.AbortedReason)
		assertSelects(t, app.ns, "web-active", "green")
		waitScaledDown(t, app.ns, "web-blue")
	})

	t.Run("pods that never become ready abort, nothing switched", func(t *testing.T) {
		update(t, obj, func(a *v1alpha1.AppSource) { *a.Spec.Strategy.BlueGreen.AutoPromotionEnabled = true })
		bad := blueGreenApp(app, "example.com/web:5", "2", true)
		requestReconcile(t, obj)
		eventually(t, time.Minute, "aborted", func(ctx context.Context) (bool, error) {
			err := get(ctx, obj)
			return err == nil && strings.HasSuffix(obj.Status.Rollout.HeldRevision, bad), err
		})
		if obj.Status.Rollout.Phase != v1alpha1.RolloutAborted {
			t.Errorf("phase %s, want Aborted", obj.Status.Rollout.Phase)
		}
		assertSelects(t, app.ns, "web-active", "green")
		waitScaledDown(t, app.ns, "web-blue")

		good := blueGreenApp(app, "example.com/web:6", "2", false)
		requestReconcile(t, obj)
		waitApplied(t, obj, good)
		assertSelects(t, app.ns, "web-active", "blue")
	})

	mixed, empty, samples := active.counts()
	t.Logf("active Service: %d EndpointSlice samples, %d mixed, %d empty", samples, mixed, empty)
	if mixed > 0 || empty > 0 {
		t.Errorf("the active Service had %d mixed and %d empty samples, want none", mixed, empty)
	}
	assertNoCanary(t, obj, app.server.Password)
}

// TestBlueGreenResumesACutShortSwitch stops the controller, leaves one of
// two active Services switched as a crash between the two would, and checks
// that the next controller finishes the switch.
func TestBlueGreenResumesACutShortSwitch(t *testing.T) {
	app := newGitApp(t)
	blueGreenApp(app, "example.com/web:1", "1", false)
	var obj *v1alpha1.AppSource
	parent := t // the AppSource outlives the first controller
	t.Run("first controller", func(t *testing.T) {
		startManager(t)
		obj = app.appSource(parent, "web", withStrategy(v1alpha1.Strategy{Type: v1alpha1.StrategyBlueGreen,
			BlueGreen: &v1alpha1.BlueGreenStrategy{ActiveServices: []string{"web-active", "web-preview"}, AutoPromotionEnabled: ptr.To(false)}}))
		waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
		blueGreenApp(app, "example.com/web:2", "1", false)
		requestReconcile(t, obj)
		waitPhase(t, obj, v1alpha1.RolloutPreviewing)
	})
	svc := &corev1.Service{}
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: app.ns, Name: "web-active"}, svc); err != nil {
		t.Fatal(err)
	}
	svc.Spec.Selector["deploy.driftless.dev/color"] = "green"
	if err := k8s.Update(t.Context(), svc, client.FieldOwner("crashed-controller")); err != nil {
		t.Fatal(err)
	}
	startManager(t)
	requestReconcile(t, obj)
	eventually(t, time.Minute, "both active Services on green", func(ctx context.Context) (bool, error) {
		return selects(ctx, app.ns, "web-active") == "green" && selects(ctx, app.ns, "web-preview") == "green", nil
	})
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	deleteAppSource(t, obj) // while the second controller runs to prune it
}

func waitApplied(t *testing.T, obj *v1alpha1.AppSource, commit string) {
	t.Helper()
	eventually(t, 2*time.Minute, "revision "+commit+" Ready", func(ctx context.Context) (bool, error) {
		err := get(ctx, obj)
		return err == nil && strings.HasSuffix(obj.Status.LastGoodRevision, commit) && ready(obj), err
	})
}

func ready(obj *v1alpha1.AppSource) bool {
	for _, c := range obj.Status.Conditions {
		if c.Type == v1alpha1.ReadyCondition {
			return c.Status == metav1.ConditionTrue
		}
	}
	return false
}

func waitPhase(t *testing.T, obj *v1alpha1.AppSource, phase v1alpha1.RolloutPhase) {
	t.Helper()
	eventually(t, time.Minute, "rollout "+string(phase), func(ctx context.Context) (bool, error) {
		err := get(ctx, obj)
		return err == nil && obj.Status.Rollout != nil && obj.Status.Rollout.Phase == phase, err
	})
}

func selects(ctx context.Context, ns, service string) string {
	svc := &corev1.Service{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: service}, svc); err != nil {
		return err.Error()
	}
	return svc.Spec.Selector[v1alpha1.ColorLabel]
}

func assertSelects(t *testing.T, ns, service, color string) {
	t.Helper()
	if got := selects(t.Context(), ns, service); got != color {
		t.Errorf("Service %s selects %q, want %q", service, got, color)
	}
}

func waitScaledDown(t *testing.T, ns, name string) {
	t.Helper()
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	eventually(t, time.Minute, name+" scaled down", func(ctx context.Context) (bool, error) {
		err := get(ctx, d)
		return err == nil && *d.Spec.Replicas == 0, err
	})
}

func configValue(t *testing.T, ns, name string) string {
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
		return err.Error()
	}
	return cm.Data["VERSION"]
}

// watchAvailable returns a function that waits for Deployment name to have
// all its replicas available with its latest template, and says when it
// was first seen so.
func watchAvailable(t *testing.T, ns, name string) func() time.Time {
	w, err := clientset.AppsV1().Deployments(ns).Watch(t.Context(), metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	done := make(chan time.Time, 1)
	go func() {
		for ev := range w.ResultChan() {
			d, ok := ev.Object.(*appsv1.Deployment)
			if ok && d.Status.ObservedGeneration == d.Generation && d.Spec.Replicas != nil && *d.Spec.Replicas > 0 &&
				d.Status.UpdatedReplicas == *d.Spec.Replicas && d.Status.AvailableReplicas == *d.Spec.Replicas &&
				d.Status.Replicas == *d.Spec.Replicas {
				done <- time.Now()
				return
			}
		}
	}()
	return func() time.Time {
		select {
		case at := <-done:
			return at
		case <-time.After(time.Minute):
			t.Fatalf("%s never available", name)
			return time.Time{}
		}
	}
}

// endpointSampler watches a Service's EndpointSlices and classifies the
// ready endpoints at every event by the colour of their pods.
type endpointSampler struct {
	mu                    sync.Mutex
	samples, mixed, empty int
	became                map[string]time.Time // when every ready endpoint last became this colour
	last                  string               // the colour of the last non-empty sample
	colorOf               func(pod string) string
	firstMixed            string // the slices of the first mixed sample
}

func sampleEndpoints(t testing.TB, ns, service string) *endpointSampler {
	return sampleEndpointsBy(t, ns, service, podColor)
}

// sampleEndpointsBy samples with colorOf telling a pod's colour from its
// name.
func sampleEndpointsBy(t testing.TB, ns, service string, colorOf func(pod string) string) *endpointSampler {
	s := &endpointSampler{became: map[string]time.Time{}, colorOf: colorOf}
	factory := informers.NewSharedInformerFactoryWithOptions(clientset, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = discoveryv1.LabelServiceName + "=" + service }))
	informer := factory.Discovery().V1().EndpointSlices().Informer()
	runInformer(t, factory, informer, func() { s.sample(informer.GetStore().List()) })
	return s
}

// runInformer calls sample on every event of informer until the test ends.
func runInformer(t testing.TB, factory informers.SharedInformerFactory, informer cache.SharedIndexInformer, sample func()) {
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { sample() }, UpdateFunc: func(any, any) { sample() }, DeleteFunc: func(any) { sample() },
	})
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	factory.Start(stop)
	factory.WaitForCacheSync(stop)
}

func (s *endpointSampler) sample(objs []any) {
	colors := map[string]bool{}
	for _, o := range objs {
		for _, e := range o.(*discoveryv1.EndpointSlice).Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready && e.TargetRef != nil {
				colors[s.colorOf(e.TargetRef.Name)] = true
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples++
	switch {
	case len(colors) > 1:
		s.mixed++
		if s.firstMixed == "" {
			s.firstMixed = describeSlices(objs)
		}
	case len(colors) == 0 && s.last != "":
		s.empty++
	case len(colors) == 1:
		for c := range colors {
			if c != s.last {
				s.became[c], s.last = time.Now(), c
			}
		}
	}
}

// podColor is the colour in a pod name "web-<colour>-<hash>-<suffix>".
func podColor(pod string) string {
	for _, c := range []string{"blue", "green"} {
		if strings.Contains(pod, "-"+c+"-") {
			return c
		}
	}
	return "none"
}

// allColor is when every ready endpoint last became color.
func (s *endpointSampler) allColor(color string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.became[color]
}

// describeSlices names each slice's ready endpoints, for a message.
func describeSlices(objs []any) string {
	var b strings.Builder
	for _, o := range objs {
		es := o.(*discoveryv1.EndpointSlice)
		fmt.Fprintf(&b, "%s (generation %d):", es.Name, es.Generation)
		for _, e := range es.Endpoints {
			if e.TargetRef != nil {
				fmt.Fprintf(&b, " %s ready=%v", e.TargetRef.Name, e.Conditions.Ready != nil && *e.Conditions.Ready)
			}
		}
		b.WriteString("; ")
	}
	return b.String()
}

func (s *endpointSampler) counts() (mixed, empty, samples int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mixed, s.empty, s.samples
}

// selectorSampler remembers when a Service's selector last took each value
// of one of its keys, as a watch sees it.
type selectorSampler struct {
	mu     sync.Mutex
	last   string
	became map[string]time.Time
}

func sampleSelector(t testing.TB, ns, service, key string) *selectorSampler {
	s := &selectorSampler{became: map[string]time.Time{}}
	factory := informers.NewSharedInformerFactoryWithOptions(clientset, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + service }))
	informer := factory.Core().V1().Services().Informer()
	runInformer(t, factory, informer, func() {
		for _, o := range informer.GetStore().List() {
			value := o.(*corev1.Service).Spec.Selector[key]
			s.mu.Lock()
			if value != s.last {
				s.became[value], s.last = time.Now(), value
			}
			s.mu.Unlock()
		}
	})
	return s
}

// selects is when the selector last took value.
func (s *selectorSampler) selects(value string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.became[value]
}

// podSampler remembers when the ready pods of each colour last reached a
// count.
type podSampler struct {
	mu      sync.Mutex
	counts  map[string]int
	reached map[string]map[int]time.Time
}

func samplePods(t testing.TB, ns string) *podSampler {
	return samplePodsBy(t, ns, v1alpha1.ColorLabel)
}

// samplePodsBy samples with the pod label colorLabel as the colour.
func samplePodsBy(t testing.TB, ns, colorLabel string) *podSampler {
	s := &podSampler{counts: map[string]int{}, reached: map[string]map[int]time.Time{}}
	factory := informers.NewSharedInformerFactoryWithOptions(clientset, 0, informers.WithNamespace(ns))
	informer := factory.Core().V1().Pods().Informer()
	runInformer(t, factory, informer, func() {
		counts := map[string]int{}
		for _, o := range informer.GetStore().List() {
			pod := o.(*corev1.Pod)
			if pod.DeletionTimestamp == nil && podReady(pod) {
				counts[pod.Labels[colorLabel]]++
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for c, n := range counts {
			if n != s.counts[c] {
				if s.reached[c] == nil {
					s.reached[c] = map[int]time.Time{}
				}
				s.reached[c][n] = time.Now()
			}
		}
		s.counts = counts
	})
	return s
}

// readyAt is when color last reached n ready pods.
func (s *podSampler) readyAt(color string, n int) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reached[color][n]
}

// count is how many pods of color are ready now.
func (s *podSampler) count(color string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[color]
}

// TestSwitchingStrategyKeepsServing moves an app from Rolling to BlueGreen
// and back while a sampler checks that the Service always has a ready
// endpoint, and removes a Deployment that ran in both colours.
func TestSwitchingStrategyKeepsServing(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	blueGreenApp(app, "example.com/web:1", "1", false)
	obj := app.appSource(t, "web")
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	active := sampleEndpoints(t, app.ns, "web-active")

	update(t, obj, func(a *v1alpha1.AppSource) {
		blueGreen(true)(a)
		a.Spec.Strategy.BlueGreen.ScaleDownDelaySeconds = 1
	})
	eventually(t, time.Minute, "blue active, the rolling Deployment pruned", func(ctx context.Context) (bool, error) {
		err := get(ctx, obj)
		return err == nil && ready(obj) && obj.Status.Rollout.ActiveColor == "blue" && gone(ctx, app.ns, "web"), err
	})
	assertSelects(t, app.ns, "web-active", "blue")

	// A second Deployment runs in both colours, then leaves Git.
	worker := `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker}
spec:
  replicas: 1
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec: {containers: [{name: worker, image: example.com/worker:1}]}
`
	for i, with := range []bool{true, true, false} {
		blueGreenApp(app, fmt.Sprintf("example.com/web:%d", i+2), "1", false)
		if with {
			app.repo.WriteFile("deploy/worker.yaml", worker)
		} else {
			app.repo.Remove("deploy/worker.yaml")
		}
		rev := app.repo.Commit(fmt.Sprintf("worker %v", with))
		requestReconcile(t, obj)
		waitApplied(t, obj, rev)
	}
	eventually(t, time.Minute, "worker pruned in both colours", func(ctx context.Context) (bool, error) {
		return gone(ctx, app.ns, "worker-blue") && gone(ctx, app.ns, "worker-green"), nil
	})

	update(t, obj, func(a *v1alpha1.AppSource) { a.Spec.Strategy = v1alpha1.Strategy{Type: v1alpha1.StrategyRolling} })
	eventually(t, time.Minute, "back on Rolling, the colours pruned", func(ctx context.Context) (bool, error) {
		err := get(ctx, obj)
		return err == nil && ready(obj) && gone(ctx, app.ns, "web-blue") && gone(ctx, app.ns, "web-green"), err
	})
	assertSelects(t, app.ns, "web-active", "")
	if _, empty, samples := active.counts(); empty > 0 {
		t.Errorf("the Service had no ready endpoint in %d of %d samples", empty, samples)
	}
}

// gone reports whether Deployment name no longer exists.
func gone(ctx context.Context, ns, name string) bool {
	err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &appsv1.Deployment{})
	return apierrors.IsNotFound(err)
}
