//go:build tools

// Package tools pins the main package that hack/peers/flux-kustomize builds.
package tools

import _ "github.com/fluxcd/kustomize-controller"
