package health

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestBuiltinRules reads common kinds by their Ready condition, as their
// controllers write it, and lets an AppSource's own rule replace the
// built-in one.
func TestBuiltinRules(t *testing.T) {
	const certificate = "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: web, generation: 2}\n"
	const kustomization = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, generation: 3}\n"
	for _, tt := range []struct {
		name, doc string
		want      Status
	}{
		{"certificate without a status", certificate, InProgress},
		{"certificate issuing", certificate + "status: {conditions: [{type: Ready, status: 'False', reason: DoesNotExist, observedGeneration: 2}, {type: Issuing, status: 'True'}]}", InProgress},
		{"certificate failed", certificate + "status: {conditions: [{type: Ready, status: 'False', observedGeneration: 2}, {type: Issuing, status: 'False', reason: Failed}]}", Failed},
		{"certificate ready", certificate + "status: {conditions: [{type: Ready, status: 'True', observedGeneration: 2}]}", Current},
		{"certificate ready for the last generation", certificate + "status: {conditions: [{type: Ready, status: 'True', observedGeneration: 1}]}", InProgress},
		{"issuer not registered yet", "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata: {name: acme}\nstatus: {conditions: [{type: Ready, status: 'False'}]}", InProgress},
		{"kustomization reconciling", kustomization + "status: {observedGeneration: 3, conditions: [{type: Reconciling, status: 'True'}, {type: Ready, status: Unknown}]}", InProgress},
		{"kustomization of an older generation", kustomization + "status: {observedGeneration: 2, conditions: [{type: Ready, status: 'True'}]}", InProgress},
		{"kustomization failed", kustomization + "status: {observedGeneration: 3, conditions: [{type: Ready, status: 'False', reason: BuildFailed}]}", Failed},
		{"kustomization stalled", kustomization + "status: {observedGeneration: 3, conditions: [{type: Stalled, status: 'True'}]}", Failed},
		{"kustomization ready", kustomization + "status: {observedGeneration: 3, conditions: [{type: Ready, status: 'True'}]}", Current},
		{"an AppSource ready", "apiVersion: deploy.driftless.dev/v1alpha1\nkind: AppSource\nmetadata: {name: infra, generation: 1}\nstatus: {observedGeneration: 1, conditions: [{type: Ready, status: 'True'}]}", Current},
	} {
		t.Run(tt.name, func(t *testing.T) {
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(tt.doc), &obj.Object); err != nil {
				t.Fatal(err)
			}
			var none *Rules
			res, ok := none.evaluate(Ref{}, obj)
			if !ok || res.Status != tt.want {
				t.Errorf("%v %s %q, want %s", ok, res.Status, res.Message, tt.want)
			}
		})
	}

	own, err := CompileRules([]Rule{{APIVersion: "cert-manager.io/v1", Kind: "Certificate", Current: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	_ = yaml.Unmarshal([]byte(certificate), &obj.Object)
	if res, _ := own.evaluate(Ref{}, obj); res.Status != Current {
		t.Errorf("the AppSource's own rule: %s, want it to replace the built-in one", res.Status)
	}
}
