package kustomize

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftless-dev/driftless/internal/reference"
)

const postBuildObjects = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {tier: front}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: example.com/web:1}
      - {name: proxy, image: example.com/proxy:1}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop, annotations: {patch: me}}
data: {mode: slow}
`

// postBuild patches with a strategic merge patch that names its object, a
// JSON 6902 patch by kind, one by annotation selector, and two images.
var postBuild = PostBuild{
	NamePrefix:  "eu-",
	Labels:      map[string]string{"cluster": "eu-1"},
	Annotations: map[string]string{"team": "shop"},
	Patches: []Patch{
		{Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 3}\n"},
		{Patch: `[{"op": "add", "path": "/metadata/labels/patched", "value": "yes"}]`, Target: &Target{Kind: "Service"}},
		{Patch: "- {op: replace, path: /data/mode, value: fast}\n", Target: &Target{AnnotationSelector: "patch=me"}},
	},
	Images: []Image{{Name: "example.com/web", NewTag: "2"}, {Name: "example.com/proxy", NewName: "mirror.example.com/proxy", Digest: "sha256:" + strings.Repeat("ab", 32)}},
}

// TestPostBuildMatchesCLI applies postBuild in-process and as `kustomize
// build` of a kustomization over the same objects, which keeps their order.
func TestPostBuildMatchesCLI(t *testing.T) {
	dir := t.TempDir()
	kustomization := `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [objects.yaml]
sortOptions: {order: fifo}
namePrefix: eu-
labels: [{pairs: {cluster: eu-1}}]
commonAnnotations: {team: shop}
patches:
- patch: |
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: shop}
    spec: {replicas: 3}
- patch: '[{"op": "add", "path": "/metadata/labels/patched", "value": "yes"}]'
  target: {kind: Service}
- patch: |
    - {op: replace, path: /data/mode, value: fast}
  target: {annotationSelector: patch=me}
images:
- {name: example.com/web, newTag: "2"}
- {name: example.com/proxy, newName: mirror.example.com/proxy, digest: "sha256:` + strings.Repeat("ab", 32) + `"}
`
	for name, data := range map[string]string{"objects.yaml": postBuildObjects, "kustomization.yaml": kustomization} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	want, err := reference.Run(ctx, reference.Kustomize(t), dir, "build", ".")
	if err != nil {
		t.Fatal(err)
	}
	got, err := postBuild.Apply([]byte(postBuildObjects))
	if err != nil {
		t.Fatal(err)
	}
	if d := reference.Diff(string(want), string(got)); d != "" {
		t.Errorf("PostBuild differs from kustomize build: %s", d)
	}
	if n := strings.Count(string(got), "cluster: eu-1"); n != 3 {
		t.Errorf("the label is set %d times, want once per object and never in a selector or template:\n%s", n, got)
	}
	for _, w := range []string{"name: eu-web", "name: eu-settings", "cluster: eu-1", "team: shop", "replicas: 3", "patched: \"yes\"", "mode: fast", "image: example.com/web:2", "image: mirror.example.com/proxy@sha256:abab"} {
		if !strings.Contains(string(got), w) {
			t.Errorf("the patched objects lack %q:\n%s", w, got)
		}
	}
}

// TestPostBuildErrors: a patch of nothing and a malformed patch are errors.
func TestPostBuildErrors(t *testing.T) {
	for name, p := range map[string]PostBuild{
		"no such object": {Patches: []Patch{{Patch: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: missing, namespace: shop}\ndata: {a: b}\n"}}},
		"malformed":      {Patches: []Patch{{Patch: "[{\"op\": \"nope\"", Target: &Target{Kind: "Service"}}}},
	} {
		if _, err := p.Apply([]byte(postBuildObjects)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
