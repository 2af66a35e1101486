//go:build tools

// Package tools pins the main package that hack/peers/flux-source builds.
package tools

import _ "github.com/fluxcd/source-controller"
