package render

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
)

// decodeYAML decodes one YAML document into the value Kubernetes clients
// get for it: exactly what sigs.k8s.io/yaml.YAMLToJSON followed by
// k8s.io/apimachinery's json.Unmarshal give (YAML 1.1 scalars, string keys,
// integers as int64, other numbers as float64), without the JSON round trip,
// which costs about half the time. decode_test.go compares the two.
func decodeYAML(data []byte) (any, error) {
	var v any
	if err := yamlv2.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return jsonValue(v)
}

// jsonValue converts a value of the YAML decoder as the JSON round trip would.
func jsonValue(v any) (any, error) {
	switch v := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			key, err := jsonKey(k)
			if err != nil {
				return nil, err
			}
			if m[key], err = jsonValue(x); err != nil {
				return nil, err
			}
		}
		return m, nil
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			var err error
			if s[i], err = jsonValue(x); err != nil {
				return nil, err
			}
		}
		return s, nil
	case string:
		return validUTF8(v), nil
	case int:
		return int64(v), nil
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), nil
		}
		return float64(v), nil
	case float64:
		return jsonNumber(v)
	default: // nil, bool, int64
		return v, nil
	}
}

// jsonNumber returns what encoding a float to JSON and decoding it as a
// Kubernetes number gives: an int64 when JSON writes it without a fraction
// or exponent and it fits, else the float.
func jsonNumber(f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, 64))
	}
	if f != math.Trunc(f) || math.Abs(f) >= 1e21 {
		return f, nil
	}
	// JSON writes the shortest decimal that reads back as f, which for
	// integers past 2^53 is not f's exact value.
	if n, err := strconv.ParseInt(strconv.FormatFloat(f, 'f', -1, 64), 10, 64); err == nil {
		return n, nil
	}
	return f, nil
}

// jsonKey converts a map key as sigs.k8s.io/yaml does.
func jsonKey(k any) (string, error) {
	switch k := k.(type) {
	case string:
		return validUTF8(k), nil
	case int:
		return strconv.Itoa(k), nil
	case int64:
		return strconv.FormatInt(k, 10), nil
	case float64:
		switch s := strconv.FormatFloat(k, 'g', -1, 32); s {
		case "+Inf":
			return ".inf", nil
		case "-Inf":
			return "-.inf", nil
		case "NaN":
			return ".nan", nil
		default:
			return s, nil
		}
	case bool:
		return strconv.FormatBool(k), nil
	default:
		return "", fmt.Errorf("unsupported map key of type %T", k)
	}
}

// validUTF8 replaces each invalid byte with U+FFFD, as encoding/json does.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out := make([]rune, 0, len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		out = append(out, r)
		i += size
	}
	return string(out)
}
