package controllers

import (
	"testing"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
)

// The API and the apply engine spell the same labels, annotations and field
// manager separately (internal packages do not import the API): they must agree.
func TestAPIAndApplyEngineAgree(t *testing.T) {
	pairs := map[string][2]string{
		"name label":       {v1alpha1.NameLabel, apply.NameLabel},
		"namespace label":  {v1alpha1.NamespaceLabel, apply.NamespaceLabel},
		"prune annotation": {v1alpha1.PruneAnnotation, apply.PruneAnnotation},
		"force annotation": {v1alpha1.ForceAnnotation, apply.ForceAnnotation},
		"field manager":    {v1alpha1.FieldManager, apply.FieldManager},
	}
	for what, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("%s: API %q, apply %q", what, p[0], p[1])
		}
	}
}
