package helm

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// mergeValues merges the user's values in Helm's order, each source over the
// ones before it, as `helm template -f a -f b` does: ValuesFiles, then
// ValuesFrom, then Values. The chart's own values.yaml is merged under them
// by Helm itself.
func mergeValues(fsys FS, dir string, opts Options) (map[string]any, error) {
	base := map[string]any{}
	for _, f := range opts.ValuesFiles {
		name := f
		// An absolute name is kept so the checkout refuses it, rather than
		// being read as a path under the chart.
		if !path.IsAbs(f) {
			name = path.Join(dir, f)
		}
		data, err := fsys.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		vals, err := parseValues(data)
		if err != nil {
			return nil, fmt.Errorf("values file %s: %w", name, err)
		}
		base = mergeMaps(base, vals)
	}
	for i, v := range opts.ValuesFrom {
		vals, err := parseValues(v.Data)
		if err != nil {
			return nil, fmt.Errorf("values from %s: %w", valuesName(v, i), err)
		}
		base = mergeMaps(base, vals)
	}
	if opts.Values != nil {
		base = mergeMaps(base, copyValue(opts.Values).(map[string]any))
	}
	return base, nil
}

func valuesName(v Values, i int) string {
	if v.Name != "" {
		return v.Name
	}
	return "valuesFrom[" + strconv.Itoa(i) + "]"
}

// parseValues parses a values document as Helm does. Its errors keep only
// the line: the YAML library quotes values, and values may be secrets.
func parseValues(data []byte) (map[string]any, error) {
	vals := map[string]any{}
	if err := yaml.Unmarshal(data, &vals); err != nil {
		return nil, redact(err)
	}
	return vals, nil
}

// redact returns "invalid YAML at line N" for a YAML error, without the rest.
func redact(err error) error {
	msg := err.Error()
	i := strings.Index(msg, "line ")
	if i < 0 {
		return fmt.Errorf("invalid YAML")
	}
	end := i + len("line ")
	for end < len(msg) && msg[end] >= '0' && msg[end] <= '9' {
		end++
	}
	return fmt.Errorf("invalid YAML at %s", msg[i:end])
}

// mergeMaps returns a with b merged over it: maps merge key by key, anything
// else in b replaces what a holds, as `helm -f` merges values files.
func mergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = mergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// copyValue deep-copies maps and slices, so rendering never changes the
// caller's values.
func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = copyValue(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = copyValue(x)
		}
		return out
	default:
		return v
	}
}
