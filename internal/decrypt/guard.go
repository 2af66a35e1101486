package decrypt

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// maxObjectsNamed bounds how many objects a Guard error names.
const maxObjectsNamed = 10

// maxGuardDepth bounds how deep Guard looks into an object, against pathological input.
const maxGuardDepth = 64

// encryptedValueMarker starts every value SOPS encrypts.
const encryptedValueMarker = "ENC[AES256_GCM,data:"

// ObjectError names rendered objects that still carry SOPS metadata or ciphertext. It wraps
// ErrEncryptedObject.
type ObjectError struct {
	// Objects names each offending object as Kind/namespace/name (Kind/name when cluster
	// scoped, "object #i" by position when those are not valid names), with where the
	// ciphertext is, e.g. "Secret/team-a/db (top-level sops metadata)".
	Objects []string
}

// Error lists at most ten objects; it never contains values.
func (e *ObjectError) Error() string {
	names := e.Objects
	more := ""
	if len(names) > maxObjectsNamed {
		more = fmt.Sprintf(" and %d more", len(names)-maxObjectsNamed)
		names = names[:maxObjectsNamed]
	}
	return fmt.Sprintf("%v: %s%s", ErrEncryptedObject, strings.Join(names, ", "), more)
}

// Unwrap returns ErrEncryptedObject.
func (e *ObjectError) Unwrap() error {
	return ErrEncryptedObject
}

// Guard refuses rendered objects that still carry SOPS metadata or SOPS ciphertext, so that
// ciphertext never reaches the cluster even if a file escaped decryption. Objects are the
// unstructured content of rendered objects (as in unstructured.Unstructured.Object). It
// returns nil or an *ObjectError naming every offending object. An object is refused when it
// has a top-level "sops" key holding SOPS metadata (a "mac", or a master key with "enc"), or
// when any string in it, or any base64-decoded value of a Secret's data, holds a SOPS
// encrypted value (an encrypted file fed to a secretGenerator, or ciphertext passed through
// Helm values).
func Guard(objects []map[string]any) error {
	var bad []string
	for i, obj := range objects {
		if where := findSOPS(obj); where != "" {
			bad = append(bad, fmt.Sprintf("%s (%s)", objectName(i, obj), where))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &ObjectError{Objects: bad}
}

// findSOPS returns where obj carries SOPS metadata or ciphertext, or "".
func findSOPS(obj map[string]any) string {
	if isMetadata(obj[metadataKey]) {
		return "top-level sops metadata"
	}
	if field := findCiphertext(obj, "", 0); field != "" {
		return "sops ciphertext at " + field
	}
	if kind, _ := obj["kind"].(string); kind == "Secret" {
		if data, ok := obj["data"].(map[string]any); ok {
			for _, k := range sortedKeys(data) {
				if s, ok := data[k].(string); ok && decodedHasCiphertext(s) {
					return "sops ciphertext in data." + k
				}
			}
		}
	}
	return ""
}

// findCiphertext returns the field path of the first string holding a SOPS encrypted value.
// Only keys appear in the path, never values.
func findCiphertext(v any, at string, depth int) string {
	if depth > maxGuardDepth {
		return ""
	}
	switch v := v.(type) {
	case string:
		if strings.Contains(v, encryptedValueMarker) {
			return strings.TrimPrefix(at, ".")
		}
	case map[string]any:
		for _, k := range sortedKeys(v) {
			if f := findCiphertext(v[k], at+"."+k, depth+1); f != "" {
				return f
			}
		}
	case []any:
		for i, item := range v {
			if f := findCiphertext(item, fmt.Sprintf("%s[%d]", at, i), depth+1); f != "" {
				return f
			}
		}
	}
	return ""
}

// decodedHasCiphertext reports whether a base64 Secret value decodes to SOPS ciphertext or
// a whole SOPS file.
func decodedHasCiphertext(s string) bool {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return false
	}
	if strings.Contains(string(b), encryptedValueMarker) {
		return true
	}
	_, ok := Detect("", b)
	return ok
}

// objectName names an object as Kind/namespace/name, or Kind/name without a namespace. When
// its kind, namespace or name is not a valid Kubernetes name (SOPS may have encrypted the whole
// object), it is named by its position instead, so ciphertext never reaches the message.
func objectName(i int, obj map[string]any) string {
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	if !kindPattern.MatchString(kind) || !namePattern.MatchString(name) || (ns != "" && !namePattern.MatchString(ns)) {
		return fmt.Sprintf("object #%d", i)
	}
	if ns == "" {
		return kind + "/" + name
	}
	return kind + "/" + ns + "/" + name
}

var (
	kindPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,62}$`)
	namePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.:]{0,251}[a-z0-9])?$`)
)

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
