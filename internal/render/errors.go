package render

import (
	"errors"
	"fmt"
	"strconv"
)

// Reason classifies a render failure; its value is the condition reason the
// controller reports.
type Reason string

const (
	// PathInvalid means Options.Path (or Root) is missing or not a directory.
	PathInvalid Reason = "PathInvalid"
	// PathOutOfBounds means a path, or a reference in a file, names something
	// outside the checkout: "../" past the root, an absolute path, or a remote
	// URL (remote kustomize bases and files are never fetched).
	PathOutOfBounds Reason = "PathOutOfBounds"
	// SymlinkOutOfBounds means a symbolic link in the checkout resolves
	// outside it.
	SymlinkOutOfBounds Reason = "SymlinkOutOfBounds"
	// LimitExceeded means one of Options.Limits was exceeded.
	LimitExceeded Reason = "LimitExceeded"
	// BuildFailed is every other failure: invalid YAML, a kustomize or Helm
	// error, an invalid or duplicate object, a panic inside an engine.
	BuildFailed Reason = "BuildFailed"
)

// Error is a render failure. Its message names the file, relative to the
// checkout root, and the line when known; it never quotes file contents.
type Error struct {
	// Reason classifies the failure.
	Reason Reason
	// File is the file or directory at fault, slash-separated and relative to
	// the checkout root; "" when no single file is.
	File string
	// Line is the 1-based line in File, 0 when unknown.
	Line int
	// Err is what went wrong.
	Err error
}

// Error formats the failure as "file:line: message".
func (e *Error) Error() string {
	switch {
	case e.File == "":
		return e.Err.Error()
	case e.Line > 0:
		return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Err.Error()
	default:
		return e.File + ": " + e.Err.Error()
	}
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason of the first *Error in err's chain, BuildFailed
// when there is none, and "" for a nil err.
func ReasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return BuildFailed
}

// failf returns an *Error with the given reason, file and line.
func failf(reason Reason, file string, line int, format string, args ...any) *Error {
	return &Error{Reason: reason, File: file, Line: line, Err: fmt.Errorf(format, args...)}
}
