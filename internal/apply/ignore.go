package apply

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
)

// IgnoreAnnotation on an object in Git lists, comma-separated, JSON pointers
// of its fields that belong to someone else, as an Ignore rule does.
const IgnoreAnnotation = "deploy.driftless.dev/ignore"

// Ignore names fields of some objects that belong to someone else (a CA
// bundle another controller injects, a count another autoscaler sets):
// they are left out of what is applied, so the field manager never owns
// them, and a change to them is never drift.
type Ignore struct {
	// Group, Version, Kind, Name and Namespace are regular expressions
	// matched against the whole value; LabelSelector and
	// AnnotationSelector are label selectors. Empty fields select all.
	Group, Version, Kind, Name, Namespace string
	LabelSelector, AnnotationSelector     string
	// Paths are JSON pointers (RFC 6901), e.g. /spec/replicas or
	// /webhooks/0/clientConfig/caBundle.
	Paths []string
}

// ignorer is a compiled list of Ignore rules.
type ignorer []ignoreRule

type ignoreRule struct {
	fields              [5]*regexp.Regexp // group, version, kind, name, namespace
	labels, annotations labels.Selector
	paths               [][]string
}

// CheckIgnores reports the first rule that cannot be used, naming it by its
// index; the caller checks before applying, so a bad rule is the spec's
// fault and not an apply's.
func CheckIgnores(rules []Ignore) error {
	_, err := compileIgnores(rules)
	return err
}

func compileIgnores(rules []Ignore) (ignorer, error) {
	out := make(ignorer, len(rules))
	for i, r := range rules {
		c := &out[i]
		for j, expr := range []string{r.Group, r.Version, r.Kind, r.Name, r.Namespace} {
			if expr == "" {
				continue
			}
			re, err := regexp.Compile("^(?:" + expr + ")$")
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			c.fields[j] = re
		}
		var err error
		if c.labels, err = labels.Parse(r.LabelSelector); err != nil {
			return nil, fmt.Errorf("[%d].labelSelector: %w", i, err)
		}
		if c.annotations, err = labels.Parse(r.AnnotationSelector); err != nil {
			return nil, fmt.Errorf("[%d].annotationSelector: %w", i, err)
		}
		if c.paths, err = parsePointers(r.Paths); err != nil {
			return nil, fmt.Errorf("[%d].paths: %w", i, err)
		}
	}
	return out, nil
}

// matches reports whether the rule selects obj.
func (r *ignoreRule) matches(obj *unstructured.Unstructured) bool {
	gvk := obj.GroupVersionKind()
	for i, v := range []string{gvk.Group, gvk.Version, gvk.Kind, obj.GetName(), obj.GetNamespace()} {
		if r.fields[i] != nil && !r.fields[i].MatchString(v) {
			return false
		}
	}
	return r.labels.Matches(labels.Set(obj.GetLabels())) && r.annotations.Matches(labels.Set(obj.GetAnnotations()))
}

// strip removes from obj the fields the rules and obj's own annotation
// ignore. A pointer to a field obj does not set removes nothing.
func (ig ignorer) strip(obj *unstructured.Unstructured) error {
	var paths [][]string
	for i := range ig {
		if ig[i].matches(obj) {
			paths = append(paths, ig[i].paths...)
		}
	}
	if list, ok := obj.GetAnnotations()[IgnoreAnnotation]; ok {
		own, err := parsePointers(strings.Split(list, ","))
		if err != nil {
			return fmt.Errorf("%s: annotation %s: %w", Describe(obj), IgnoreAnnotation, err)
		}
		paths = append(paths, own...)
	}
	// Later list items first, so that removing one keeps the indexes of
	// the others.
	slices.SortFunc(paths, func(a, b []string) int { return comparePointers(b, a) })
	for _, p := range paths {
		removePointer(obj.Object, p)
	}
	return nil
}

// comparePointers orders pointers token by token, list indexes by number.
func comparePointers(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, errX := strconv.Atoi(a[i])
		y, errY := strconv.Atoi(b[i])
		if errX == nil && errY == nil && x != y {
			return cmp.Compare(x, y)
		}
		if c := strings.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// parsePointers parses JSON pointers into their unescaped tokens. The
// identity of an object (apiVersion, kind, metadata.name and namespace) is
// never ignored.
func parsePointers(ptrs []string) ([][]string, error) {
	out := make([][]string, 0, len(ptrs))
	for _, p := range ptrs {
		p = strings.TrimSpace(p)
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("%q is not a JSON pointer (it starts with /)", p)
		}
		tokens := strings.Split(p[1:], "/")
		for i, t := range tokens {
			tokens[i] = unescapeToken.Replace(t)
		}
		switch strings.Join(tokens, "/") {
		case "apiVersion", "kind", "metadata", "metadata/name", "metadata/namespace":
			return nil, fmt.Errorf("%q names the object itself", p)
		}
		out = append(out, tokens)
	}
	return out, nil
}

// unescapeToken turns a JSON pointer's token back into a key (RFC 6901).
var unescapeToken = strings.NewReplacer("~1", "/", "~0", "~")

// removePointer removes the field at tokens from v, if it is there.
func removePointer(v any, tokens []string) any {
	if len(tokens) == 0 {
		return v
	}
	switch node := v.(type) {
	case map[string]any:
		child, ok := node[tokens[0]]
		if !ok {
			return node
		}
		if len(tokens) == 1 {
			delete(node, tokens[0])
		} else {
			node[tokens[0]] = removePointer(child, tokens[1:])
		}
		return node
	case []any:
		i, err := strconv.Atoi(tokens[0])
		if err != nil || i < 0 || i >= len(node) {
			return node
		}
		if len(tokens) == 1 {
			return append(node[:i:i], node[i+1:]...)
		}
		node[i] = removePointer(node[i], tokens[1:])
		return node
	}
	return v
}
