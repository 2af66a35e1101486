// Package kustomize builds a kustomization in-process with kustomize's own
// library (krusty), as `kustomize build --load-restrictor
// LoadRestrictionsNone` does, and returns the same YAML stream, byte for byte.
//
// The build reads the checkout only through the caller's confined [FS]: the
// checkout appears to kustomize as a read-only file system rooted at a
// virtual directory, so a kustomization may refer to bases, components and
// files anywhere inside the checkout and to nothing outside it. Before
// kustomize acts on a kustomization file, every reference in it is checked:
// remote bases and files (URLs, git and GitHub references), absolute paths
// and Helm chart inflation are refused, and a missing file is reported with
// the file and line that name it. Plugins are limited to kustomize's builtin
// ones, so no exec, Go or KRM-function plugin ever runs.
//
// kustomize keeps its OpenAPI schema in process-wide state. Builds share it
// under a read lock; a build whose kustomizations set a custom schema
// (the openapi field) runs alone, and the schema is reset after it, so two
// builds at once cannot affect each other's output.
package kustomize
