//go:build tools

// Package tools pins the main package that hack/promtool builds.
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
