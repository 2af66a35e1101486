package render

import (
	"path"
	"testing/fstest"

	"github.com/driftless-dev/driftless/internal/render/kustomize"
)

// warmUp builds a kustomization that patches a Deployment with a strategic
// merge patch, which makes kustomize parse its built-in OpenAPI schema:
// some 60 ms that every sandboxed overlay with such a patch would pay after
// its request came, spent by a spare child while it waits. The schema is
// the default one every render starts from; a kustomization that sets its
// own still sets it in its child only. A failed warm-up loses only time.
func warmUp() error {
	_, err := kustomize.Build(warmUpFS, "app")
	return err
}

var warmUpFS = memFS{fstest.MapFS{
	"app/kustomization.yaml": {Data: []byte("resources: [deployment.yaml]\nnamespace: warm\nnamePrefix: up-\n" +
		"labels: [{pairs: {env: warm}, includeSelectors: true}]\nimages: [{name: web, newTag: \"3\"}]\n" +
		"configMapGenerator: [{name: settings, literals: [A=b]}]\n" +
		"patches: [{patch: '{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {template: {spec: {containers: [{name: web, image: web:2}]}}}}'}]\n")},
	"app/deployment.yaml": {Data: []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n" +
		"spec: {template: {spec: {containers: [{name: web, image: web:1}]}}}\n")},
}}

// memFS is a tree in memory, without symbolic links.
type memFS struct{ fstest.MapFS }

// Resolve returns name cleaned: nothing in memory is a link.
func (m memFS) Resolve(name string) (string, error) { return path.Clean(name), nil }
