package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// boundsError is a YAML document past a limit, at a line of its stream.
type boundsError struct {
	line int
	err  error
}

// Error formats the bound with its line.
func (e *boundsError) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }

// syntaxError is a stream that is not YAML at all.
type syntaxError struct{ err error }

// Error returns the parser's message.
func (e *syntaxError) Error() string { return e.err.Error() }

// Unwrap returns the parser's error.
func (e *syntaxError) Unwrap() error { return e.err }

// isYAMLSyntax reports whether err says the data is not YAML, rather than
// YAML past a limit.
func isYAMLSyntax(err error) bool {
	var s *syntaxError
	return errors.As(err, &s)
}

// locate turns an error of checkYAML into an *Error naming file: LimitExceeded
// for a bound, BuildFailed for a syntax error.
func locate(err error, file string) *Error {
	var b *boundsError
	if errors.As(err, &b) {
		return &Error{Reason: LimitExceeded, File: file, Line: b.line, Err: b.err}
	}
	return &Error{Reason: BuildFailed, File: file, Err: err}
}

// checkYAML parses every document of data without expanding aliases and
// fails when one nests deeper than limits.MaxYAMLDepth or would be larger
// than limits.MaxBytes once its aliases were expanded (a "billion laughs").
// The parser itself stops at 10,000 levels, before any stack is at risk.
func checkYAML(data []byte, limits Limits) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			// The parser's own nesting limit is a bound too.
			if strings.Contains(err.Error(), "exceeded max depth") {
				line, _ := yamlPosition(err)
				return &boundsError{line: line, err: fmt.Errorf("YAML nests deeper than %d levels", limits.MaxYAMLDepth)}
			}
			return &syntaxError{err: err}
		}
		m := measurer{limits: limits, memo: map[*yaml.Node]measure{}, active: map[*yaml.Node]bool{}}
		if _, err := m.measure(&doc); err != nil {
			return err
		}
	}
}

// measure is the size of a node once aliases are expanded, and its depth.
type measure struct {
	size  int64
	depth int
}

// measurer measures nodes, each anchor once however often it is aliased.
type measurer struct {
	limits Limits
	memo   map[*yaml.Node]measure
	active map[*yaml.Node]bool
}

func (m *measurer) measure(n *yaml.Node) (measure, error) {
	// Only an anchored node can be reached twice: remember those alone.
	if n.Anchor != "" {
		if got, ok := m.memo[n]; ok {
			return got, nil
		}
		if m.active[n] {
			return measure{}, &boundsError{line: n.Line, err: errors.New("YAML alias refers to itself")}
		}
		m.active[n] = true
		defer delete(m.active, n)
	}
	var got measure
	switch n.Kind {
	case yaml.ScalarNode:
		got.size = int64(len(n.Value)) + 1
	case yaml.AliasNode:
		if n.Alias == nil {
			return measure{}, &boundsError{line: n.Line, err: errors.New("YAML alias without anchor")}
		}
		var err error
		if got, err = m.measure(n.Alias); err != nil {
			return measure{}, err
		}
	default:
		for _, child := range n.Content {
			c, err := m.measure(child)
			if err != nil {
				return measure{}, err
			}
			got.size += c.size
			got.depth = max(got.depth, c.depth)
		}
		got.size++
		if n.Kind != yaml.DocumentNode {
			got.depth++
		}
	}
	if got.depth > m.limits.MaxYAMLDepth {
		return measure{}, &boundsError{line: n.Line, err: fmt.Errorf("YAML nests deeper than %d levels", m.limits.MaxYAMLDepth)}
	}
	if got.size > m.limits.MaxBytes {
		return measure{}, &boundsError{line: n.Line, err: fmt.Errorf("YAML expands to more than %d bytes with its aliases", m.limits.MaxBytes)}
	}
	if n.Anchor != "" {
		m.memo[n] = got
	}
	return got, nil
}
