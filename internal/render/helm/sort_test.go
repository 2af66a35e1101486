package helm

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
)

// sortInput is rendered templates with every case of Helm's sort: known and
// unknown kinds, hooks (one unknown), partials, empty files, a file cut
// across parts, and separators with odd spacing.
func sortInput() map[string]string {
	kinds := []string{"Deployment", "Service", "ConfigMap", "Widget", "Gadget", "Namespace", "Job", "Secret"}
	var big strings.Builder
	for i := 0; i < 4000; i++ {
		kind := kinds[i%len(kinds)]
		fmt.Fprintf(&big, "---   \n# comment %d\napiVersion: v1\nkind: %s\nmetadata:\n  name: obj-%d\n", i, kind, i)
		if i%97 == 0 {
			fmt.Fprintf(&big, "  annotations:\n    helm.sh/hook: pre-install,post-upgrade\n    helm.sh/hook-weight: \"%d\"\n", i%5)
		}
		if i == 500 {
			big.WriteString("  annotations:\n    helm.sh/hook: not-a-hook\n")
		}
		switch i % 13 {
		case 1:
			big.WriteString("---\n\n---   \n")
		case 2:
			big.WriteString("data:\n  text: |\n    ---inside\n    a\n---\n")
		case 3:
			big.WriteString("--- # a comment after the separator\n")
		}
		big.WriteString("\n\n")
	}
	return map[string]string{
		"chart/templates/big.yaml":          big.String(),
		"chart/templates/_helpers.tpl":      "apiVersion: v1\nkind: Secret\n",
		"chart/templates/empty.yaml":        " \n\n",
		"chart/templates/a-first.yaml":      "apiVersion: v1\nkind: Service\nmetadata: {name: first}\n---\napiVersion: v1\nkind: Gadget\nmetadata: {name: g}\n",
		"chart/charts/sub/templates/z.yaml": "kind: Namespace\nmetadata: {name: ns}\n",
	}
}

// TestSortManifestsMatchesHelm checks the parallel sort against Helm's on
// the same input, cut into any number of parts.
func TestSortManifestsMatchesHelm(t *testing.T) {
	files := sortInput()
	wantHooks, wantManifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		t.Fatal(err)
	}
	for _, procs := range []int{1, 2, 3, 7} {
		if procs > 1 && len(partition(files, procs)) < 2 {
			t.Fatalf("procs %d: the input is not cut", procs)
		}
		hooks, manifests, err := sortManifests(sortInput(), procs)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(hooks, wantHooks) || !reflect.DeepEqual(manifests, wantManifests) {
			t.Fatalf("procs %d: the result differs from releaseutil.SortManifests", procs)
		}
	}
}

// TestSortManifestsErrors returns Helm's error for an unparsable document.
func TestSortManifestsErrors(t *testing.T) {
	files := sortInput()
	files["chart/templates/zz-bad.yaml"] = "kind: [\n"
	_, _, want := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	_, _, err := sortManifests(files, 3)
	if err == nil || want == nil || err.Error() != want.Error() {
		t.Fatalf("error %v, want %v", err, want)
	}
}

// docs returns the documents Helm splits content into, in order.
func docs(content string) []string {
	m := releaseutil.SplitManifests(content)
	out := make([]string, len(m))
	for i := range out {
		out[i] = m[fmt.Sprintf("manifest-%d", i)]
	}
	return out
}

// TestCutAt cuts streams at every place cutAt allows and checks Helm splits
// the two halves into the documents of the whole.
func TestCutAt(t *testing.T) {
	for _, content := range []string{
		"a: 1\n---\nb: 2\n",
		"x\n---\n\n---\ny",
		"x \n---\ny\n---z\n----\nw",
		"---\na\n---\n---\n\n\n---   \nb\n  ---\nc",
		sortInput()["chart/templates/big.yaml"][:5000],
	} {
		want := docs(content)
		for off := 0; off < len(content); off++ {
			c := cutAt(content, off)
			if c < 0 {
				break
			}
			if got := append(docs(content[:c]), docs(content[c:])...); !reflect.DeepEqual(got, want) {
				t.Fatalf("cut of %q at %d: %q, want %q", content, c, got, want)
			}
		}
	}
}

// FuzzCutAt checks every cut cutAt allows in any stream.
func FuzzCutAt(f *testing.F) {
	for _, s := range []string{"a\n---\nb", "x\n---\n\n---\ny", "---\na\n---\n---\n\n---   \nb", "a:\n- x\n---\n- y\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		want := docs(content)
		for off := 0; off < len(content); off++ {
			c := cutAt(content, off)
			if c < 0 {
				return
			}
			if got := append(docs(content[:c]), docs(content[c:])...); !reflect.DeepEqual(got, want) {
				t.Fatalf("cut of %q at %d: %q, want %q", content, c, got, want)
			}
		}
	})
}
