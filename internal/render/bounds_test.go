package render

import (
	"strings"
	"testing"
)

// billionLaughs returns a YAML document of n levels, each aliasing the
// previous one ten times: a few hundred bytes that expand to 10^n scalars.
func billionLaughs(n int) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= n; i++ {
		prev := "*a" + string(rune('0'+i-1))
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		b.WriteString(strings.Repeat(prev+", ", 9) + prev + "]\n")
	}
	return b.String()
}

// deep returns a document nested n mappings deep.
func deep(n int) string {
	return strings.Repeat("{a: ", n) + "1" + strings.Repeat("}", n) + "\n"
}

func TestCheckYAML(t *testing.T) {
	limits := Limits{MaxBytes: 1 << 20, MaxYAMLDepth: 50}
	tests := []struct {
		name, doc string
		bound     bool
		syntax    bool
	}{
		{"object", cmA, false, false},
		{"aliases within bounds", "a: &x {k: v}\nb: *x\nc: *x\n", false, false},
		{"stream", cmA + "---\n" + cmB, false, false},
		{"billion laughs", billionLaughs(9), true, false},
		{"too deep", deep(60), true, false},
		{"deep enough", deep(49), false, false},
		{"deep through aliases", "a: &x " + deep(30) + "b: " + strings.Repeat("[", 25) + "*x " + strings.Repeat("]", 25) + "\n", true, false},
		{"not YAML", "a: [\n", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkYAML([]byte(tt.doc), limits)
			switch {
			case tt.syntax:
				if !isYAMLSyntax(err) {
					t.Fatalf("checkYAML = %v, want a syntax error", err)
				}
			case tt.bound:
				if err == nil || isYAMLSyntax(err) || ReasonOf(locate(err, "f")) != LimitExceeded {
					t.Fatalf("checkYAML = %v, want a bound", err)
				}
			case err != nil:
				t.Fatalf("checkYAML = %v, want nil", err)
			}
		})
	}
}

func TestCheckYAMLLocatesBound(t *testing.T) {
	doc := cmA + "---\n" + billionLaughs(9)
	e := locate(checkYAML([]byte(doc), Limits{MaxBytes: 1 << 20, MaxYAMLDepth: 50}), "x.yaml")
	if e.Reason != LimitExceeded || e.File != "x.yaml" || e.Line < 7 {
		t.Fatalf("locate = %+v (%v), want LimitExceeded in x.yaml past line 7", e, e)
	}
}
