package helm

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestSchemaRefsAreRefused checks a values.schema.json can make Helm's
// validator read neither a file nor a URL (RELIABILITY S6): the server must
// see no request and the canary file must not show in the error.
func TestSchemaRefsAreRefused(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"type": "object"}`))
	}))
	defer srv.Close()
	canary := filepath.Join(t.TempDir(), "secret.json")
	if err := os.WriteFile(canary, []byte(`{"canary-4b1d": true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, schema := range map[string]string{
		"http ref":        `{"properties": {"a": {"$ref": "` + srv.URL + `/schema.json"}}}`,
		"file ref":        `{"properties": {"a": {"$ref": "file://` + canary + `"}}}`,
		"relative ref":    `{"$id": "` + srv.URL + `/root.json", "properties": {"a": {"$ref": "other.json"}}}`,
		"unknown $schema": `{"$schema": "` + srv.URL + `/meta.json", "type": "object"}`,
		"dynamic ref":     `{"$dynamicRef": "` + srv.URL + `/x"}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeTree(t, minimalChart(map[string]string{"chart/values.schema.json": schema}))
			_, err := Template(t.Context(), openFS(t, dir), "chart", Options{ReleaseName: "r"})
			if !errors.Is(err, ErrSchemaRef) || strings.Contains(err.Error(), "canary-4b1d") {
				t.Fatalf("Template: got %v, want ErrSchemaRef", err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the schema server got %d requests, want 0", n)
	}
}

// TestSchemaLocalRefsWork checks a schema referring to itself still validates.
func TestSchemaLocalRefsWork(t *testing.T) {
	schema := `{"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"s": {"type": "string"}},` +
		` "properties": {"greeting": {"$ref": "#/definitions/s"}}}`
	dir := writeTree(t, minimalChart(map[string]string{"chart/values.schema.json": schema}))
	fsys := openFS(t, dir)
	if _, err := Template(t.Context(), fsys, "chart", Options{ReleaseName: "r"}); err != nil {
		t.Fatalf("valid values: %v", err)
	}
	_, err := Template(t.Context(), fsys, "chart", Options{ReleaseName: "r", Values: map[string]any{"greeting": float64(3)}})
	if err == nil || !strings.Contains(err.Error(), "greeting") {
		t.Fatalf("invalid values: got %v, want a schema error", err)
	}
}
