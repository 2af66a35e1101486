package decrypt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// plaintexts of the fixtures, each with its canaries.

func secretYAML(user, token string) []byte {
	return fmt.Appendf(nil, `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: team-a
type: Opaque
stringData:
  password: %s
data:
  token: %s
`, user, base64.StdEncoding.EncodeToString([]byte(token)))
}

func helmValues(password, annotation string) []byte {
	return fmt.Appendf(nil, `replicaCount: 3
database:
  host: db.internal
  port: 5432
  password: %s
ingress:
  annotations:
    - plain
    - %s
`, password, annotation)
}

func dotenvFile(a, b string) []byte {
	return fmt.Appendf(nil, "DB_PASSWORD=%s\nAPI_TOKEN=%s\n", a, b)
}

func iniFile(a string) []byte {
	return fmt.Appendf(nil, "[database]\nuser = app\npassword = %s\n", a)
}

func jsonFile(a string) []byte {
	return fmt.Appendf(nil, `{"apiKey": "%s", "nested": {"replicas": 2, "enabled": true}}`, a)
}

func binaryFile(a string) []byte {
	b := []byte{0x00, 0xff, 0xfe, 0x01, '\n', 0x80}
	b = append(b, a...)
	return append(b, 0x00, 0xc3, 0x28)
}

func multiDocYAML(a, b string) []byte {
	return fmt.Appendf(nil, `apiVersion: v1
kind: Secret
metadata:
  name: one
stringData:
  key: %s
---
apiVersion: v1
kind: Secret
metadata:
  name: two
stringData:
  key: %s
`, a, b)
}

// sameContent compares a decrypted file with its plaintext: structurally for YAML and JSON
// (SOPS re-indents), byte for byte otherwise.
func sameContent(t *testing.T, f Format, got, want []byte) {
	t.Helper()
	var equal bool
	switch f {
	case FormatYAML:
		equal = reflect.DeepEqual(yamlDocs(t, got), yamlDocs(t, want))
	case FormatJSON:
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("decrypted JSON does not parse: %v", err)
		}
		_ = json.Unmarshal(want, &w)
		equal = reflect.DeepEqual(g, w)
	case FormatINI:
		equal = strings.Join(strings.Fields(string(got)), " ") == strings.Join(strings.Fields(string(want)), " ")
	default:
		equal = bytes.Equal(got, want)
	}
	if !equal {
		t.Fatalf("decrypted %s differs from the plaintext:\n got: %q\nwant: %q", f, got, want)
	}
}

func yamlDocs(t *testing.T, b []byte) []any {
	t.Helper()
	var docs []any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("decrypted YAML does not parse: %v", err)
		}
		docs = append(docs, v)
	}
}
