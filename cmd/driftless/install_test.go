package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/driftless-dev/driftless/internal/reference"
	"github.com/driftless-dev/driftless/internal/render"
)

// TestChartRendersTheBundle renders charts/driftless with its defaults (and
// createNamespace, since Helm otherwise creates the namespace itself) and
// requires the objects config/default builds, field for field; and `helm
// lint` of the reference CLI passes. One source of truth: a change to one
// that the other lacks fails here.
func TestChartRendersTheBundle(t *testing.T) {
	root := filepath.Join("..", "..")
	chart := renderChart(t, root, map[string]any{"createNamespace": true})
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

	if out, err := exec.Command(reference.Tool(t, "helm"), "lint", "--strict", filepath.Join(root, "charts", "driftless")).CombinedOutput(); err != nil {
		t.Errorf("helm lint: %v\n%s", err, out)
	}
}

// TestChartValuesChangeOnlyTheirFields renders the chart with values set
// and requires every object as the defaults render it, but for the
// Deployment's fields those values name.
func TestChartValuesChangeOnlyTheirFields(t *testing.T) {
	root := filepath.Join("..", "..")
	base := renderChart(t, root, nil)
	changed := renderChart(t, root, map[string]any{
		"image": map[string]any{"tag": "v9.9.9"}, "replicas": 3, "extraArgs": []any{"--concurrent=8"},
		"nodeSelector": map[string]any{"pool": "system"}, "logLevel": "debug",
	})
	deployment := "Deployment/" + systemNamespace + "/driftless-manager"
	for key, obj := range base {
		if key != deployment && !reflect.DeepEqual(obj, changed[key]) {
			t.Errorf("%s changed with values that do not name it", key)
		}
	}
	spec, pod, container := deploymentParts(changed[deployment])
	args, _ := json.Marshal(container["args"])
	switch {
	case spec["replicas"] != 3.0, container["image"] != "ghcr.io/driftless-dev/driftless:v9.9.9",
		!strings.Contains(string(args), `"--concurrent=8"`), !strings.Contains(string(args), `"--log-level=debug"`),
		!reflect.DeepEqual(pod["nodeSelector"], map[string]any{"pool": "system"}):
		t.Errorf("the values did not reach the Deployment: replicas %v, image %v, args %s, nodeSelector %v",
			spec["replicas"], container["image"], args, pod["nodeSelector"])
	}
	// Set the named fields back: nothing else differs.
	baseSpec, _, baseContainer := deploymentParts(base[deployment])
	spec["replicas"], container["image"], container["args"] = baseSpec["replicas"], baseContainer["image"], baseContainer["args"]
	delete(pod, "nodeSelector")
	if !reflect.DeepEqual(changed[deployment], base[deployment]) {
		t.Errorf("the Deployment differs beyond the fields the values name")
	}
}

// deploymentParts returns a normalized Deployment's spec, pod spec and
// first container.
func deploymentParts(d any) (spec, pod, container map[string]any) {
	spec = d.(map[string]any)["spec"].(map[string]any)
	pod = spec["template"].(map[string]any)["spec"].(map[string]any)
	return spec, pod, pod["containers"].([]any)[0].(map[string]any)
}

// renderChart renders charts/driftless with values, by the project's Helm
// engine, as normalized objects by kind, namespace and name.
func renderChart(t *testing.T, root string, values map[string]any) map[string]any {
	t.Helper()
	objs, err := render.Render(context.Background(), render.Options{Root: root, Path: "charts/driftless", Engine: render.Helm,
		Helm: render.HelmOptions{ReleaseName: "driftless", Namespace: systemNamespace, Values: values}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for _, o := range objs {
		out[describe(o)] = normalized(t, o.Object)
	}
	return out
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

// TestChartShardsAndMonitoring renders the chart with two shards and its
// monitoring on: a Deployment per shard with disjoint selectors, Services
// that reach every shard, and the alert rules and dashboard of files/ as
// they are.
func TestChartShardsAndMonitoring(t *testing.T) {
	root := filepath.Join("..", "..")
	on := map[string]any{"enabled": true}
	objs := renderChart(t, root, map[string]any{"shards": []any{"a", "b"},
		"monitoring": map[string]any{"serviceMonitor": on, "prometheusRule": on, "dashboard": on}})
	selectors := map[string]bool{}
	for _, shard := range []string{"", "a", "b"} {
		key := "Deployment/" + systemNamespace + "/driftless-manager"
		if shard != "" {
			key += "-" + shard
		}
		d, ok := objs[key]
		if !ok {
			t.Fatalf("no %s", key)
		}
		spec, _, container := deploymentParts(d)
		args, _ := json.Marshal(container["args"])
		if hasShard := strings.Contains(string(args), `"--shard=`+shard+`"`); hasShard != (shard != "") {
			t.Errorf("%s args %s: want --shard=%s", key, args, shard)
		}
		sel, _ := json.Marshal(spec["selector"])
		if selectors[string(sel)] {
			t.Errorf("%s selects %s, as another shard's Deployment does", key, sel)
		}
		selectors[string(sel)] = true
		labels := spec["template"].(map[string]any)["metadata"].(map[string]any)["labels"].(map[string]any)
		if labels["app.kubernetes.io/name"] != "driftless" {
			t.Errorf("%s pods are not selected by the Services: labels %v", key, labels)
		}
	}
	rule, ok := objs["PrometheusRule/"+systemNamespace+"/driftless"].(map[string]any)
	if !ok {
		t.Fatal("no PrometheusRule")
	}
	var file map[string]any
	readYAML(t, filepath.Join(root, "charts", "driftless", "files", "alerts.yaml"), &file)
	if !reflect.DeepEqual(rule["spec"].(map[string]any)["groups"], normalized(t, file["groups"])) {
		t.Error("the PrometheusRule's groups differ from files/alerts.yaml")
	}
	dashboard, ok := objs["ConfigMap/"+systemNamespace+"/driftless-dashboard"].(map[string]any)
	if !ok {
		t.Fatal("no dashboard ConfigMap")
	}
	data, err := os.ReadFile(filepath.Join(root, "charts", "driftless", "files", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := dashboard["data"].(map[string]any)["driftless.json"]; got != strings.TrimRight(string(data), "\n") {
		t.Error("the dashboard ConfigMap differs from files/dashboard.json")
	}
	if _, ok := objs["ServiceMonitor/"+systemNamespace+"/driftless"]; !ok {
		t.Error("no ServiceMonitor")
	}
}

// TestAlertRules checks the alert rules and runs their unit tests with
// promtool, built from the Go module proxy (hack/promtool).
func TestAlertRules(t *testing.T) {
	root := filepath.Join("..", "..")
	promtool := reference.Tool(t, "promtool")
	files := filepath.Join(root, "charts", "driftless", "files")
	for _, args := range [][]string{{"check", "rules", "alerts.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = files
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// readYAML decodes the YAML file at path into v.
func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := utilyaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
