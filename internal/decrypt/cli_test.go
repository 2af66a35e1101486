package decrypt

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/driftless-dev/driftless/internal/reference"
)

// sopsVersion is the sops CLI the compatibility cases and the benchmark build and compare with;
// it is the version of the library in go.mod.
const sopsVersion = "v3.13.3"

// sopsCLI returns the sops CLI built from github.com/getsops/sops/v3/cmd/sops at sopsVersion
// by hack/build-tools.sh, cached at bin/tools/sops-<version> in the repository (bin/ is
// ignored by Git). The first build takes minutes (`make test` runs it first); when it fails
// the calling test fails.
func sopsCLI(tb testing.TB) string {
	tb.Helper()
	path := reference.Tool(tb, "sops")
	if !strings.HasSuffix(path, "sops-"+sopsVersion) {
		tb.Fatalf("hack/build-tools.sh built %s, want sops %s", path, sopsVersion)
	}
	return path
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// runSOPS runs the CLI in dir with a clean environment: no key is found anywhere but in the
// extra variables given.
func runSOPS(tb testing.TB, bin, dir string, env []string, args ...string) []byte {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "PATH=" + os.Getenv("PATH")}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("sops %s: %v: %s", strings.Join(args, " "), err, lastLines(stderr.Bytes(), 5))
	}
	return out
}

// cliCase is a file encrypted by the sops CLI.
type cliCase struct {
	name      string   // plaintext file name given to the CLI (its extension picks the format)
	fileName  string   // name given to File, to show detection does not rest on the name
	format    Format   // what File must detect
	plain     []byte   // plaintext
	args      []string // extra encrypt arguments
	config    string   // .sops.yaml content for key groups, "" for none
	decryptBy []*age.X25519Identity
}

func TestCLICompatibility(t *testing.T) {
	bin := sopsCLI(t)
	s := newSecrets()
	a, b, c := s.ageKey(t), s.ageKey(t), s.ageKey(t)
	r := func(ids ...*age.X25519Identity) string {
		var out []string
		for _, id := range ids {
			out = append(out, id.Recipient().String())
		}
		return strings.Join(out, ",")
	}
	groups := fmt.Sprintf("creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [%s]\n      - age: [%s]\n      - age: [%s]\n", r(a), r(b), r(c))
	cases := []cliCase{
		{"secret.yaml", "app/secret.yaml", FormatYAML, secretYAML(s.canary("cli-user"), s.canary("cli-token")),
			[]string{"--age", r(a), "--encrypted-regex", "^(data|stringData)$"}, "", []*age.X25519Identity{a}},
		{"values-prod.enc.yaml", "chart/values-prod.enc.yaml", FormatYAML, helmValues(s.canary("cli-helm"), s.canary("cli-ann")),
			[]string{"--age", r(a)}, "", []*age.X25519Identity{a}},
		{"secret.env", "app/generator/secret.env", FormatDotenv, dotenvFile(s.canary("cli-env"), s.canary("cli-env2")),
			[]string{"--age", r(a)}, "", []*age.X25519Identity{a}},
		{"creds.env", "app/generator/creds.txt", FormatDotenv, dotenvFile(s.canary("cli-env3"), "x"),
			[]string{"--age", r(a)}, "", []*age.X25519Identity{a}},
		{"tls.key", "app/certs/tls.key", FormatBinary, binaryFile(s.canary("cli-bin")),
			[]string{"--age", r(a)}, "", []*age.X25519Identity{a}},
		{"all.yaml", "app/all.yaml", FormatYAML, multiDocYAML(s.canary("cli-doc1"), s.canary("cli-doc2")),
			[]string{"--age", r(a)}, "", []*age.X25519Identity{a}},
		{"keys.json", "app/keys.json", FormatJSON, jsonFile(s.canary("cli-json")),
			[]string{"--age", r(a)}, "", []*age.X25519Identity{a}},
		{"app.ini", "app/app.ini", FormatINI, iniFile(s.canary("cli-ini")),
			[]string{"--age", r(a)}, "", []*age.X25519Identity{a}},
		{"multi.yaml", "app/multi.yaml", FormatYAML, helmValues(s.canary("cli-multi"), "x"),
			[]string{"--age", r(a, b, c)}, "", []*age.X25519Identity{c}},
		{"groups.yaml", "app/groups.yaml", FormatYAML, helmValues(s.canary("cli-groups"), "x"),
			nil, groups, []*age.X25519Identity{a, c}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			writeFile(t, filepath.Join(work, tc.name), tc.plain)
			args := []string{"encrypt"}
			if tc.config != "" {
				writeFile(t, filepath.Join(work, "sops.yaml"), []byte(tc.config))
				args = []string{"--config", filepath.Join(work, "sops.yaml"), "encrypt"}
			}
			enc := runSOPS(t, bin, work, nil, append(append(args, tc.args...), tc.name)...)
			writeFile(t, filepath.Join(work, "enc-"+tc.name), enc)
			want := runSOPS(t, bin, work, []string{"SOPS_AGE_KEY=" + identities(tc.decryptBy)}, "decrypt", "enc-"+tc.name)

			got, format, err := decryptFile(t, withKeys(ageKeys(tc.decryptBy...)), tc.fileName, enc)
			s.assertNoLeak(t, err)
			if err != nil {
				t.Fatal(err)
			}
			if format != tc.format {
				t.Fatalf("decrypted as %q, want %q", format, tc.format)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("library output differs from `sops decrypt`:\n got: %q\nwant: %q", got, want)
			}
			sameContent(t, tc.format, got, tc.plain)
		})
	}
}

func TestCLICompatibilityFailures(t *testing.T) {
	bin := sopsCLI(t)
	s := newSecrets()
	a, other := s.ageKey(t), s.ageKey(t)
	work := t.TempDir()
	writeFile(t, filepath.Join(work, "secret.yaml"), secretYAML(s.canary("cli-fail"), s.canary("cli-fail2")))
	enc := runSOPS(t, bin, work, nil, "encrypt", "--age", a.Recipient().String(), "secret.yaml")

	got, _, err := decryptFile(t, withKeys(ageKeys(other)), "s.yaml", enc)
	refused(t, s, got, err, "s.yaml", ErrNoMatchingKey)

	tampered := bytes.Replace(enc, []byte("    mac: ENC["), []byte("    mac: ENC[X"), 1)
	got, _, err = decryptFile(t, withKeys(ageKeys(a)), "s.yaml", tampered)
	refused(t, s, got, err, "s.yaml", ErrMACMismatch)

	got, _, err = decryptFile(t, DefaultOptions(), "s.yaml", enc)
	refused(t, s, got, err, "s.yaml", ErrNoKeys)
}

func identities(ids []*age.X25519Identity) string {
	var out []string
	for _, id := range ids {
		out = append(out, id.String())
	}
	return strings.Join(out, "\n")
}
