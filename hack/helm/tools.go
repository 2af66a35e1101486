//go:build tools

// Package tools pins the main package that hack/helm builds.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
