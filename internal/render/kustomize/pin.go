//go:build tools

// Package kustomize will hold the kustomize code of Driftless. Until it does, this file
// keeps the pinned version of its library in go.mod: go mod tidy reads files
// of every build tag, and nothing builds this one.
package kustomize

import _ "sigs.k8s.io/kustomize/api/krusty"
