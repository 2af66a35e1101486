package render

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// object is a parsed object and where it came from.
type object struct {
	u *unstructured.Unstructured
	// file and line locate the document in the checkout (line 0: unknown).
	file string
	line int
	// template is the Helm template that produced it, "" for other engines.
	template string
}

// origin names where the object came from, for error messages.
func (o object) origin() string {
	s := o.file
	if o.line > 0 {
		s += ":" + strconv.Itoa(o.line)
	}
	if o.template != "" {
		s += " (" + o.template + ")"
	}
	return s
}

// document is one YAML document of a stream.
type document struct {
	data []byte
	// line is where the document starts in the stream, 1-based.
	line int
	// template is the "# Source: " comment Helm writes before each document
	// it renders; a document without one (the second of a file in a chart's
	// crds/, which Helm prints as it is) comes from the one before.
	template string
}

// splitDocuments splits a YAML stream on its "---" lines, as kubectl does: a
// line that starts with "---" followed by nothing but blanks or a comment.
func splitDocuments(data []byte) []document {
	var docs []document
	cur := document{line: 1}
	start, lineNo, sourced := 0, 0, false
	for pos := 0; pos < len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if end >= 0 {
			next = pos + end + 1
		}
		lineNo++
		if isSeparator(data[pos:next]) {
			cur.data = data[start:pos]
			docs = append(docs, cur)
			cur = document{line: lineNo + 1, template: cur.template}
			start, sourced = next, false
		} else if t, ok := bytes.CutPrefix(data[pos:next], []byte("# Source: ")); ok && !sourced {
			cur.template, sourced = strings.TrimSpace(string(t)), true
		}
		pos = next
	}
	cur.data = data[start:]
	return append(docs, cur)
}

func isSeparator(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	if !ok {
		return false
	}
	rest = bytes.TrimSpace(rest)
	return len(rest) == 0 || rest[0] == '#'
}

// parseStream parses a YAML stream read from file into objects, bounding
// every document. Empty documents are skipped and v1 Lists are expanded.
// Large streams are parsed on every processor, in document order.
func parseStream(data []byte, file string, limits Limits) ([]object, error) {
	return parseSubstituting(data, file, limits, nil)
}

// parseSubstituting is parseStream that, when vars is not nil, substitutes
// them in each document's text (see substitute) before decoding it, unless
// the document opts out.
func parseSubstituting(data []byte, file string, limits Limits, vars map[string]string) ([]object, error) {
	docs := splitDocuments(data)
	parsed := make([][]object, len(docs))
	errs := make([]error, len(docs))
	workers := min(runtime.GOMAXPROCS(0), len(docs)/parallelDocs+1)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(docs); i += workers {
				parsed[i], errs[i] = parseDocument(docs[i], file, limits, vars)
			}
		}()
	}
	wg.Wait()
	var objs []object
	for i := range docs {
		if errs[i] != nil {
			return nil, errs[i]
		}
		objs = append(objs, parsed[i]...)
	}
	return objs, nil
}

// parallelDocs is how many documents make it worth another goroutine.
const parallelDocs = 64

// parseDocument parses one document into zero, one or (for a List) more
// objects, substituting vars first unless vars is nil.
func parseDocument(doc document, file string, limits Limits, vars map[string]string) ([]object, error) {
	at := func(err error) *Error {
		e := &Error{Reason: BuildFailed, File: file, Line: doc.line, Err: err}
		if doc.template != "" {
			e.Err = fmt.Errorf("%s: %w", doc.template, err)
		}
		return e
	}
	// Only an anchor lets a document expand past its size: a document without
	// one skips the expansion check, and its depth is checked once decoded.
	if bytes.IndexByte(doc.data, '&') >= 0 {
		if err := checkYAML(doc.data, limits); err != nil {
			return nil, yamlError(err, doc, file, at)
		}
	}
	v, err := decodeYAML(doc.data)
	if err != nil {
		// This parser may quote the offending value, which may be a secret:
		// the other one describes the error without it.
		if err := checkYAML(doc.data, limits); err != nil {
			return nil, yamlError(err, doc, file, at)
		}
		return nil, at(fmt.Errorf("invalid YAML"))
	}
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, at(fmt.Errorf("document is not a YAML mapping"))
	}
	if depth(m, limits.MaxYAMLDepth) > limits.MaxYAMLDepth {
		e := at(fmt.Errorf("YAML nests deeper than %d levels", limits.MaxYAMLDepth))
		e.Reason = LimitExceeded
		return nil, e
	}
	u := &unstructured.Unstructured{Object: m}
	if vars != nil && bytes.Contains(doc.data, []byte("${")) && !substitutionDisabled(u) {
		data, err := substitute(doc.data, vars)
		if err != nil {
			return nil, at(fmt.Errorf("%s: %w", describe(u), err))
		}
		substituted := doc
		substituted.data = data
		return parseDocument(substituted, file, limits, nil)
	}
	if u.GetAPIVersion() == "v1" && u.GetKind() == "List" {
		return expandList(u, file, doc)
	}
	return []object{{u: u, file: file, line: doc.line, template: doc.template}}, nil
}

// yamlError turns an error of checkYAML on doc into an *Error located in file.
func yamlError(err error, doc document, file string, at func(error) *Error) *Error {
	if isYAMLSyntax(err) {
		line, desc := yamlPosition(err)
		e := at(fmt.Errorf("invalid YAML: %s", desc))
		e.Line += max(line-1, 0)
		return e
	}
	e := locate(err, file)
	e.Line += doc.line - 1
	return e
}

// depth returns how deeply v nests maps and slices, counting no further
// than limit+1.
func depth(v any, limit int) int {
	var children []any
	switch v := v.(type) {
	case map[string]any:
		for _, c := range v {
			children = append(children, c)
		}
	case []any:
		children = v
	default:
		return 0
	}
	deepest := 0
	if limit >= 0 {
		for _, c := range children {
			deepest = max(deepest, depth(c, limit-1))
		}
	}
	return deepest + 1
}

// expandList returns the items of a v1 List, as kubectl applies them.
func expandList(list *unstructured.Unstructured, file string, doc document) ([]object, error) {
	items, ok := list.Object["items"].([]any)
	if !ok && list.Object["items"] != nil {
		return nil, &Error{Reason: BuildFailed, File: file, Line: doc.line, Err: fmt.Errorf("kind List: items is not a sequence")}
	}
	objs := make([]object, 0, len(items))
	for i, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, &Error{Reason: BuildFailed, File: file, Line: doc.line, Err: fmt.Errorf("kind List: item %d is not a mapping", i)}
		}
		objs = append(objs, object{u: &unstructured.Unstructured{Object: m}, file: file, line: doc.line, template: doc.template})
	}
	return objs, nil
}

// yamlPosition splits a "yaml: line N: description" error of the YAML
// parser into N (0 when absent) and the description, which is fixed text
// that never quotes the document.
func yamlPosition(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	rest, ok := strings.CutPrefix(msg, "line ")
	if !ok {
		return 0, msg
	}
	num, desc, ok := strings.Cut(rest, ": ")
	n, convErr := strconv.Atoi(num)
	if !ok || convErr != nil {
		return 0, msg
	}
	return n, desc
}
