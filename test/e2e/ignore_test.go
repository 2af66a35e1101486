package e2e

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
)

// sidecarInjector is a mutating admission webhook, served over TLS and
// registered with the API server for the Deployments of one namespace: it
// adds a container named proxy to every Deployment written without one, and
// counts the writes it sees by field manager.
type sidecarInjector struct {
	mu     sync.Mutex
	writes map[string]int // by field manager
}

func startSidecarInjector(t *testing.T, ns string) *sidecarInjector {
	t.Helper()
	inj := &sidecarInjector{writes: map[string]int{}}
	srv := httptest.NewTLSServer(http.HandlerFunc(inj.serve))
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	url := srv.URL + "/inject"
	none, fail := admissionregistrationv1.SideEffectClassNone, admissionregistrationv1.Fail
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "inject-" + ns},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:         "inject.driftless.test",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}},
			}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}},
			SideEffects:             &none,
			FailurePolicy:           &fail,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	if err := k8s.Create(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), cfg) })
	return inj
}

func (inj *sidecarInjector) serve(w http.ResponseWriter, r *http.Request) {
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "bad review", http.StatusBadRequest)
		return
	}
	req := review.Request
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	var opts struct{ FieldManager string }
	var d appsv1.Deployment
	if json.Unmarshal(req.Options.Raw, &opts) == nil && json.Unmarshal(req.Object.Raw, &d) == nil {
		if req.DryRun == nil || !*req.DryRun {
			inj.mu.Lock()
			inj.writes[opts.FieldManager]++
			inj.mu.Unlock()
		}
		if !slices.ContainsFunc(d.Spec.Template.Spec.Containers, func(c corev1.Container) bool { return c.Name == "proxy" }) {
			patch, _ := json.Marshal([]map[string]any{{"op": "add", "path": "/spec/template/spec/containers/-",
				"value": map[string]any{"name": "proxy", "image": "example.com/proxy:1"}}})
			pt := admissionv1.PatchTypeJSONPatch
			resp.Patch, resp.PatchType = patch, &pt
		}
	}
	review.Response, review.Request = resp, nil
	_ = json.NewEncoder(w).Encode(review)
}

// count returns the writes made by a field manager so far.
func (inj *sidecarInjector) count(manager string) int {
	inj.mu.Lock()
	defer inj.mu.Unlock()
	return inj.writes[manager]
}

// reconciled requests a reconcile of obj and waits until it is handled.
func reconciled(t *testing.T, obj *v1alpha1.AppSource) {
	t.Helper()
	requestReconcile(t, obj)
	token := obj.Annotations[v1alpha1.ReconcileRequestAnnotation]
	eventually(t, time.Minute, "the request handled", func(ctx context.Context) (bool, error) {
		err := get(ctx, obj)
		return err == nil && obj.Status.LastHandledReconcileAt == token, err
	})
}

// TestIgnoreRules runs a Deployment past a mutating webhook that injects a
// sidecar, and past another controller that sets a field Git sets too.
// The sidecar needs no rule: the webhook's container is in no field set of
// ours, so reconciles write nothing. The other controller's field is fought
// over at every reconcile until an ignore rule names it; then nothing is
// written and the other controller's value stays.
func TestIgnoreRules(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	inj := startSidecarInjector(t, app.ns)
	app.repo.WriteFile("deploy/deployment.yaml", strings.Replace(deploymentYAML("example.com/web:1"),
		"metadata: {name: web}", "metadata: {name: web, annotations: {example.com/owner: git}}", 1))
	app.repo.Commit("an annotation another controller sets")
	obj := app.appSource(t, "web")
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	if n := len(app.deployment(t).Spec.Template.Spec.Containers); n != 2 {
		t.Fatalf("%d containers, want the sidecar beside web", n)
	}
	writes := inj.count(apply.FieldManager)
	for range 2 {
		reconciled(t, obj)
	}
	if n := inj.count(apply.FieldManager) - writes; n != 0 {
		t.Errorf("the sidecar alone: %d writes at 2 reconciles, want none", n)
	}

	// Another controller owns the annotation: it sets it whenever it is not its value.
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	operated := func(ctx context.Context) (bool, error) {
		d := &appsv1.Deployment{}
		err := k8s.Get(ctx, client.ObjectKey{Namespace: app.ns, Name: "web"}, d)
		return err == nil && d.Annotations["example.com/owner"] == "operator", err
	}
	go func() {
		for ctx.Err() == nil {
			if ok, err := operated(ctx); err == nil && !ok {
				patch := []byte(`{"metadata":{"annotations":{"example.com/owner":"operator"}}}`)
				_ = k8s.Patch(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: app.ns, Name: "web"}},
					client.RawPatch(types.MergePatchType, patch), client.FieldOwner("operator"))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	fight := func() int {
		t.Helper()
		before := inj.count(apply.FieldManager)
		for range 3 {
			eventually(t, time.Minute, "the operator's value", operated)
			reconciled(t, obj)
		}
		return inj.count(apply.FieldManager) - before
	}
	if n := fight(); n < 3 {
		t.Errorf("without a rule: %d writes at 3 reconciles, want one each (the field is fought over)", n)
	}

	update(t, obj, func(a *v1alpha1.AppSource) {
		a.Spec.Ignore = []v1alpha1.IgnoreRule{{Target: &v1alpha1.PatchTarget{Kind: "Deployment"},
			Paths: []string{"/metadata/annotations/example.com~1owner"}}}
	})
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	eventually(t, time.Minute, "the rule applied", func(ctx context.Context) (bool, error) {
		err := get(ctx, obj)
		return err == nil && obj.Status.ObservedGeneration == obj.Generation, err
	})
	if n := fight(); n != 0 {
		t.Errorf("with the rule: %d writes at 3 reconciles, want none", n)
	}
	if ok, err := operated(t.Context()); !ok || err != nil {
		t.Errorf("the operator's value is gone (%v)", err)
	}
}
