package reference

import (
	"bytes"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// Normalize returns a YAML stream in a canonical form, so two streams that
// say the same thing compare equal: comments and empty documents dropped,
// each document re-encoded with sorted keys and the same quoting, documents
// kept in order.
func Normalize(stream []byte) (string, error) {
	var out strings.Builder
	for i, doc := range split(stream) {
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return "", fmt.Errorf("document %d: %w", i+1, err)
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue
		}
		y, err := yaml.JSONToYAML(js)
		if err != nil {
			return "", fmt.Errorf("document %d: %w", i+1, err)
		}
		out.WriteString("---\n")
		out.Write(y)
	}
	return out.String(), nil
}

// split splits a stream on its "---" lines.
func split(stream []byte) [][]byte {
	var docs [][]byte
	var cur []byte
	for _, line := range bytes.SplitAfter(stream, []byte("\n")) {
		if t := bytes.TrimSpace(line); bytes.HasPrefix(line, []byte("---")) && (len(t) == 3 || t[3] == ' ' || t[3] == '#') {
			docs = append(docs, cur)
			cur = nil
			continue
		}
		cur = append(cur, line...)
	}
	return append(docs, cur)
}

// Diff returns the first differing line of two texts with some context, ""
// when they are equal.
func Diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			lo := max(i-3, 0)
			return fmt.Sprintf("line %d differs:\nwant: %q\ngot:  %q\ncontext (want):\n%s", i+1, wl, gl, strings.Join(w[lo:min(i+3, len(w))], "\n"))
		}
	}
	return ""
}
