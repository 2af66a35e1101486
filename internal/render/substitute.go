package render

import (
	"fmt"

	"github.com/fluxcd/pkg/envsubst"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The annotations that leave an object out of variable substitution when
// set to "disabled": ours, and Flux's, so that Flux repositories work
// unchanged.
var substituteAnnotations = []string{"deploy.driftless.dev/substitute", "kustomize.toolkit.fluxcd.io/substitute"}

// substitute replaces ${var}, ${var:=default} and the other bash-like
// forms in the YAML of one document with vars, as Flux's post-build
// substitution does ($${var} is a literal ${var}; $var is left alone). It
// works on the text, so a value takes the type YAML gives it where it
// lands, as with Flux. A variable without a value or a default is an error
// naming it: it would otherwise be applied empty.
func substitute(data []byte, vars map[string]string) ([]byte, error) {
	out, err := envsubst.Eval(string(data), func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	})
	if err != nil {
		return nil, fmt.Errorf("substitute variables: %w", err)
	}
	return []byte(out), nil
}

// substitutionDisabled reports whether u opts out of substitution.
func substitutionDisabled(u *unstructured.Unstructured) bool {
	for _, a := range substituteAnnotations {
		if u.GetAnnotations()[a] == "disabled" {
			return true
		}
	}
	return false
}

// describe names an object as Kind/namespace/name, or Kind/name.
func describe(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s/%s/%s", u.GetKind(), ns, u.GetName())
	}
	return u.GetKind() + "/" + u.GetName()
}
