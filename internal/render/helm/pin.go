//go:build tools

// Package helm will hold the Helm code of Driftless. Until it does, this file
// keeps the pinned version of its library in go.mod: go mod tidy reads files
// of every build tag, and nothing builds this one.
package helm

import _ "helm.sh/helm/v3/pkg/chart/loader"
