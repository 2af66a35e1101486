//go:build tools

// Package tools pins the main package that hack/peers/argo-rollouts builds.
package tools

import _ "github.com/argoproj/argo-rollouts/cmd/rollouts-controller"
