//go:build tools

// Package health will hold the kstatus code of Driftless. Until it does, this file
// keeps the pinned version of its library in go.mod: go mod tidy reads files
// of every build tag, and nothing builds this one.
package health

import _ "sigs.k8s.io/cli-utils/pkg/kstatus/status"
