package decrypt

import (
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	s := newSecrets()
	id := s.ageKey(t)
	enc := func(f Format, plain string) string { return string(seal(t, f, []byte(plain), forAge(t, id))) }
	yamlEnc := enc(FormatYAML, "a: b\n")
	binEnc := enc(FormatBinary, "raw bytes")
	cases := []struct {
		name, file, content string
		want                Format
		encrypted           bool
	}{
		{"yaml", "x.yaml", yamlEnc, FormatYAML, true},
		{"yaml without extension", "secret", yamlEnc, FormatYAML, true},
		{"yaml with a BOM and CRLF", "x.txt", "\ufeff" + strings.ReplaceAll(yamlEnc, "\n", "\r\n"), FormatYAML, true},
		{"multi-document yaml", "x.yaml", enc(FormatYAML, "a: b\n---\nc: d\n"), FormatYAML, true},
		{"json", "x.json", enc(FormatJSON, `{"a": "b"}`), FormatJSON, true},
		{"json named yaml", "x.yaml", enc(FormatJSON, `{"a": "b"}`), FormatJSON, true},
		{"dotenv", "x.env", enc(FormatDotenv, "A=b\n"), FormatDotenv, true},
		{"dotenv named txt", "x.txt", enc(FormatDotenv, "A=b\n"), FormatDotenv, true},
		{"ini", "x.ini", enc(FormatINI, "[s]\na = b\n"), FormatINI, true},
		{"binary", "tls.key", binEnc, FormatBinary, true},
		{"binary named json is json", "x.json", binEnc, FormatJSON, true},
		{"json with only data named bin", "x.bin", enc(FormatJSON, `{"data": "b"}`), FormatBinary, true},
		{"broken json with sops", "x.json", `{"sops": {"mac": `, FormatJSON, true},
		{"broken yaml with sops", "x.yaml", "a: [\nsops:\n  mac: x\n", FormatYAML, true},
		{"plain yaml", "x.yaml", "kind: ConfigMap\ndata:\n  sops: enabled\n", "", false},
		{"helm values configuring sops", "values.yaml", "sops:\n  enabled: true\n  image: sops:3\n", "", false},
		{"sops key without metadata", "x.json", `{"sops": {"version": "3"}}`, "", false},
		{"sops config file", ".sops.yaml", "creation_rules:\n  - age: age1xyz\n", "", false},
		{"dotenv mentioning sops", "x.env", "SOPS_VERSION=3\nsops_flag=1\n", "", false},
		{"ini without metadata", "x.ini", "[sops]\nenabled = true\n", "", false},
		{"empty", "x.yaml", "", "", false},
		{"binary noise", "x.bin", "\x00\x01sops\xff", "", false},
		{"sops is a list", "x.yaml", "sops:\n  - mac\n", "", false},
		{"key groups only", "x.yaml", "sops:\n  key_groups:\n    - age:\n        - recipient: r\n          enc: x\n", FormatYAML, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Detect(tc.file, []byte(tc.content))
			if got != tc.want || ok != tc.encrypted {
				t.Fatalf("Detect = %q, %v; want %q, %v", got, ok, tc.want, tc.encrypted)
			}
		})
	}
}

// FuzzDetect checks that detection never panics or hangs on arbitrary input (S16).
func FuzzDetect(f *testing.F) {
	for _, seed := range []string{
		"sops:\n  mac: x\n", `{"sops": {"mac": "x"}, "data": "y"}`, "[sops]\nmac = x\n",
		"sops_mac=x\n", "a: &a [*a]\nsops:\n  mac: x\n", "sops:\n  age:\n    - enc: x\n---\n- a\n",
	} {
		f.Add("x.yaml", []byte(seed))
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		format, ok := Detect(name, data)
		if ok != (format != "") {
			t.Fatalf("Detect = %q, %v", format, ok)
		}
	})
}
