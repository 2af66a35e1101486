package health

import (
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Rule reads the health of one kind with CEL expressions, as Flux's
// healthCheckExprs do: each sees the object's top-level fields (apiVersion,
// kind, metadata, spec, status; an absent one is an empty map) and returns
// a bool. They are evaluated in the order inProgress, failed, current; the
// first true one decides, and none true is InProgress. Empty expressions
// are skipped.
type Rule struct {
	APIVersion, Kind            string
	Current, InProgress, Failed string
}

// Rules are compiled Rules, by kind.
type Rules struct {
	byKind map[schema.GroupVersionKind][]program // in the order inProgress, failed, current
}

// program is one compiled expression and the status it stands for.
type program struct {
	status Status
	expr   string
	prg    cel.Program
}

// objectFields are the variables an expression sees.
var objectFields = []string{"apiVersion", "kind", "metadata", "spec", "status"}

// CompileRules compiles rules; an expression that does not compile, or
// does not return a bool, is an error naming it ("[i].current: ...").
func CompileRules(rules []Rule) (*Rules, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	var opts []cel.EnvOption
	for _, f := range objectFields {
		opts = append(opts, cel.Variable(f, cel.DynType))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, err
	}
	out := &Rules{byKind: map[schema.GroupVersionKind][]program{}}
	for i, r := range rules {
		gvk := schema.FromAPIVersionAndKind(r.APIVersion, r.Kind)
		for _, e := range []struct {
			name, expr string
			status     Status
		}{{"inProgress", r.InProgress, InProgress}, {"failed", r.Failed, Failed}, {"current", r.Current, Current}} {
			if strings.TrimSpace(e.expr) == "" {
				continue
			}
			ast, iss := env.Compile(e.expr)
			if iss.Err() != nil {
				return nil, fmt.Errorf("[%d].%s: %w", i, e.name, iss.Err())
			}
			if ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
				return nil, fmt.Errorf("[%d].%s: returns %s, want bool", i, e.name, ast.OutputType())
			}
			prg, err := env.Program(ast, cel.CostLimit(celCostLimit))
			if err != nil {
				return nil, fmt.Errorf("[%d].%s: %w", i, e.name, err)
			}
			out.byKind[gvk] = append(out.byKind[gvk], program{status: e.status, expr: e.name, prg: prg})
		}
	}
	return out, nil
}

// celCostLimit bounds one evaluation, so that a rule cannot hold a worker.
const celCostLimit = 1_000_000

// evaluate returns the status the rules give obj, or else the built-in
// rules, and whether any rule is for its kind.
func (rs *Rules) evaluate(ref Ref, obj *unstructured.Unstructured) (Result, bool) {
	gvk := obj.GroupVersionKind()
	var programs []program
	if rs != nil {
		programs = rs.byKind[gvk]
	}
	if programs == nil {
		programs = builtin().byKind[gvk]
	}
	if programs == nil {
		return Result{}, false
	}
	vars := map[string]any{}
	for _, f := range objectFields {
		v, ok := obj.Object[f]
		if !ok {
			v = map[string]any{}
		}
		vars[f] = v
	}
	msg := "no health check is true yet"
	for _, p := range programs {
		out, _, err := p.prg.Eval(vars)
		if err != nil {
			// A field the expression reads may not be there yet: the
			// message shows it, in case it never will be.
			msg = fmt.Sprintf("health check %s: %v", p.expr, err)
			continue
		}
		if b, ok := out.Value().(bool); ok && b {
			return Result{Ref: ref, Status: p.status, Message: "health check " + p.expr + " is true"}, true
		}
	}
	return Result{Ref: ref, Status: InProgress, Message: msg}, true
}
