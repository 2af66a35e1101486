package kustomize

import (
	"errors"
	"strconv"
)

var (
	// ErrRemote is a reference to a remote base or file: nothing is fetched
	// while rendering.
	ErrRemote = errors.New("remote references are not allowed: nothing is fetched while rendering")
	// ErrAbsolute is an absolute path: references are relative to their
	// kustomization.
	ErrAbsolute = errors.New("absolute paths are not allowed")
	// ErrNotFound is a reference to a file or directory that does not exist.
	ErrNotFound = errors.New("no such file or directory")
	// ErrHelmCharts is Helm chart inflation inside a kustomization, which runs
	// the helm binary and downloads charts: render the chart with the Helm
	// engine instead.
	ErrHelmCharts = errors.New("helm chart inflation is not supported: render the chart with the Helm engine")
)

// RefError is a refused reference in a kustomization or plugin configuration
// file.
type RefError struct {
	// File is the file holding the reference, relative to the checkout root.
	File string
	// Line is the reference's 1-based line, 0 when unknown.
	Line int
	// Field names the reference, e.g. "resource" or "patch".
	Field string
	// Ref is the reference as written.
	Ref string
	// Err is why it is refused.
	Err error
}

// Error formats the refusal as "file:line: field ref: reason".
func (e *RefError) Error() string {
	at := e.File
	if e.Line > 0 {
		at += ":" + strconv.Itoa(e.Line)
	}
	if e.Ref == "" {
		return at + ": " + e.Field + ": " + e.Err.Error()
	}
	return at + ": " + e.Field + " " + e.Ref + ": " + e.Err.Error()
}

// Unwrap returns the reason.
func (e *RefError) Unwrap() error { return e.Err }
