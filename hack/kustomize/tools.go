//go:build tools

// Package tools pins the main package that hack/kustomize builds.
package tools

import _ "sigs.k8s.io/kustomize/kustomize/v5"
