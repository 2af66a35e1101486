package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/driftless-dev/driftless/internal/render"
)

// TestChartRendersTheBundle renders charts/driftless with its defaults (and
// createNamespace, since Helm otherwise creates the namespace itself) and
// requires the objects config/default builds, field for field; and `helm
// lint` of the reference CLI passes. One source of truth: a change to one
// that the other lacks fails here.
func TestChartRendersTheBundle(t *testing.T) {
	root := filepath.Join("..", "..")
	objs, err := render.Render(context.Background(), render.Options{Root: root, Path: "charts/driftless", Engine: render.Helm,
		Helm: render.HelmOptions{ReleaseName: "driftless", Namespace: systemNamespace, Values: map[string]any{"createNamespace": true}}})
	if err != nil {
		t.Fatal(err)
	}
	chart := map[string]any{}
	for _, o := range objs {
		chart[describe(o)] = normalized(t, o.Object)
	}
	want := map[string]any{}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(bundle), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if m == nil {
			continue
		}
		md := m["metadata"].(map[string]any)
		key := m["kind"].(string) + "/" + md["name"].(string)
		if ns, ok := md["namespace"].(string); ok {
			key = m["kind"].(string) + "/" + ns + "/" + md["name"].(string)
		}
		want[key] = normalized(t, m)
	}
	for key, w := range want {
		if got, ok := chart[key]; !ok {
			t.Errorf("%s: in config/default, not in the chart", key)
		} else if !reflect.DeepEqual(got, w) {
			g, _ := json.MarshalIndent(got, "", " ")
			b, _ := json.MarshalIndent(w, "", " ")
			t.Errorf("%s differs:\nchart:  %s\nbundle: %s", key, g, b)
		}
	}
	for key := range chart {
		if _, ok := want[key]; !ok {
			t.Errorf("%s: in the chart, not in config/default", key)
		}
	}

	helm, err := exec.Command(filepath.Join(root, "hack", "build-tools.sh"), "helm").Output()
	if err != nil {
		t.Fatalf("build the reference helm CLI: %v", err)
	}
	if out, err := exec.Command(strings.TrimSpace(string(helm)), "lint", "--strict", filepath.Join(root, "charts", "driftless")).CombinedOutput(); err != nil {
		t.Errorf("helm lint: %v\n%s", err, out)
	}
}

// normalized is v as JSON would carry it: numbers as float64.
func normalized(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
