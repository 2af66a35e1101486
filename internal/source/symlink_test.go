package source

import "testing"

func TestInsideRoot(t *testing.T) {
	links := map[string]string{
		"up":        "..",
		"abs":       "/etc",
		"a/b/root":  "../..",
		"a/b/t":     "root/../x",
		"a/b/ok":    "root/a",
		"a/deep":    "b/ok/b",
		"l1":        "l2",
		"l2":        "l1",
		"d/sibling": "../a",
		"self":      ".",
	}
	tests := map[string]bool{
		"up":        false,
		"abs":       false,
		"a/b/root":  true,
		"a/b/t":     false,
		"a/b/ok":    true,
		"a/deep":    true,
		"l1":        false,
		"d/sibling": true,
		"self":      true,
		"self/up":   false,
		"x/../..":   false,
		"plain":     true,
	}
	for p, ok := range tests {
		if err := insideRoot(links, p); (err == nil) != ok {
			t.Errorf("%s: err = %v, want inside=%v", p, err, ok)
		}
	}
}
