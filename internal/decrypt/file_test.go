package decrypt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/getsops/sops/v3/keys"
	"github.com/getsops/sops/v3/keyservice"
)

// decryptFile decrypts one file with a Decrypter made from opts, as the render does.
func decryptFile(t testing.TB, opts Options, name string, data []byte) ([]byte, Format, error) {
	t.Helper()
	d, err := NewDecrypter(opts)
	if err != nil {
		t.Fatalf("NewDecrypter: %v", err)
	}
	return d.File(context.Background(), name, data)
}

// refused asserts that File failed on name for reason and gave no plaintext.
func refused(t testing.TB, s *secrets, plain []byte, err error, name string, reason error) *FileError {
	t.Helper()
	s.assertNoLeak(t, err)
	fe := fileError(t, err, name, reason)
	if plain != nil {
		t.Fatalf("File returned %d bytes with its error", len(plain))
	}
	return fe
}

func TestFileDecryptsEveryFormat(t *testing.T) {
	s := newSecrets()
	id := s.ageKey(t)
	c := s.canary
	cases := []struct {
		name   string // file name: deliberately not always the format's extension
		format Format
		plain  []byte
		spec   sealSpec
	}{
		{"app/secret.yaml", FormatYAML, secretYAML(c("user"), c("token")),
			sealSpec{groups: forAge(t, id).groups, encryptedRegex: "^(data|stringData)$"}},
		{"app/values-prod.enc.yaml", FormatYAML, helmValues(c("helm"), c("annotation")), forAge(t, id)},
		{"app/generator/secret.env", FormatDotenv, dotenvFile(c("env1"), c("env2")), forAge(t, id)},
		{"app/generator/creds.txt", FormatDotenv, dotenvFile(c("env3"), c("env4")), forAge(t, id)},
		{"app/config/app.ini", FormatINI, iniFile(c("ini")), forAge(t, id)},
		{"app/config/keys.json", FormatJSON, jsonFile(c("json")), forAge(t, id)},
		{"app/config/keys.conf", FormatJSON, jsonFile(c("json2")), forAge(t, id)},
		{"app/certs/tls.key", FormatBinary, binaryFile(c("binary")), forAge(t, id)},
		{"app/all.yaml", FormatYAML, multiDocYAML(c("doc1"), c("doc2")), forAge(t, id)},
	}
	d, err := NewDecrypter(withKeys(ageKeys(id)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, format, err := d.File(context.Background(), tc.name, seal(t, tc.format, tc.plain, tc.spec))
			s.assertNoLeak(t, err)
			if err != nil {
				t.Fatal(err)
			}
			if format != tc.format {
				t.Fatalf("decrypted as %q, want %q", format, tc.format)
			}
			sameContent(t, tc.format, got, tc.plain)
		})
	}
	t.Run("plain file", func(t *testing.T) {
		plain := []byte("kind: ConfigMap\n")
		got, format, err := d.File(context.Background(), "app/plain.yaml", plain)
		if err != nil || format != "" || !bytes.Equal(got, plain) {
			t.Fatalf("File = %q, %q, %v; want the file unchanged", got, format, err)
		}
	})
}

func TestFileMultiRecipientAndKeyGroups(t *testing.T) {
	s := newSecrets()
	a, b, c, other := s.ageKey(t), s.ageKey(t), s.ageKey(t), s.ageKey(t)
	plain := helmValues(s.canary("groups"), s.canary("groups2"))
	shamir := sealSpec{groups: [][]keys.MasterKey{ageGroup(t, a), ageGroup(t, b), ageGroup(t, c)}, threshold: 2}
	cases := []struct {
		name    string
		spec    sealSpec
		keys    Keys
		wantErr string // substring of the detail; empty when it must decrypt
	}{
		{"one of three recipients", forAge(t, a, b, c), ageKeys(b), ""},
		{"two keys, one matches", forAge(t, a), ageKeys(other, a), ""},
		{"several identities in one entry", forAge(t, c), Keys{Age: [][]byte{[]byte(other.String() + "\n" + c.String())}}, ""},
		{"shamir 2 of 3 with groups 1 and 3", shamir, ageKeys(a, c), ""},
		{"shamir 2 of 3 with one group", shamir, ageKeys(b), "2 of 3 key groups are required"},
		{"no recipient matches", forAge(t, a, b), ageKeys(other), "age " + a.Recipient().String()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := decryptFile(t, withKeys(tc.keys), "values.yaml", seal(t, FormatYAML, plain, tc.spec))
			if tc.wantErr == "" {
				s.assertNoLeak(t, err)
				if err != nil {
					t.Fatal(err)
				}
				sameContent(t, FormatYAML, got, plain)
				return
			}
			fe := refused(t, s, got, err, "values.yaml", ErrNoMatchingKey)
			if !strings.Contains(fe.Detail, tc.wantErr) {
				t.Fatalf("detail %q does not say %q", fe.Detail, tc.wantErr)
			}
		})
	}
}

func TestFileRefusesTamperedFiles(t *testing.T) {
	s := newSecrets()
	id := s.ageKey(t)
	plain := []byte(fmt.Sprintf("password: %s\ntoken: %s\nlabel_unencrypted: blue\n", s.canary("mac1"), s.canary("mac2")))
	enc := seal(t, FormatYAML, plain, forAge(t, id))
	lines := strings.Split(string(enc), "\n")
	encValue := func(key string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, key+": ") {
				return strings.TrimPrefix(l, key+": ")
			}
		}
		t.Fatalf("no %s in %s", key, enc)
		return ""
	}
	cases := map[string]string{
		"value removed":       strings.Replace(string(enc), "token: "+encValue("token")+"\n", "", 1),
		"plain value changed": strings.Replace(string(enc), "label_unencrypted: blue", "label_unencrypted: green", 1),
		"values swapped": strings.NewReplacer("password: "+encValue("password"), "password: "+encValue("token"),
			"token: "+encValue("token"), "token: "+encValue("password")).Replace(string(enc)),
		"mac replaced": strings.Replace(string(enc), encValue("    mac"), encValue("password"), 1),
		"mac removed":  strings.Replace(string(enc), "    mac: "+encValue("    mac")+"\n", "", 1),
	}
	for name, tampered := range cases {
		t.Run(name, func(t *testing.T) {
			if tampered == string(enc) {
				t.Fatal("fixture was not tampered with")
			}
			got, _, err := decryptFile(t, withKeys(ageKeys(id)), "s/secret.yaml", []byte(tampered))
			refused(t, s, got, err, "s/secret.yaml", ErrMACMismatch)
		})
	}
}

func TestFileRefusesMalformedMetadata(t *testing.T) {
	s := newSecrets()
	id := s.ageKey(t)
	enc := string(seal(t, FormatYAML, helmValues(s.canary("m"), "x"), forAge(t, id)))
	encJSON := string(seal(t, FormatJSON, jsonFile(s.canary("mj")), forAge(t, id)))
	cases := map[string]string{
		"bad lastmodified": replaceLine(t, enc, "    lastmodified:", `    lastmodified: "not a date"`),
		"age is a string":  cutBetween(t, enc, "    age:\n", "    lastmodified:", "    age: nonsense\n"),
		"no master keys":   cutBetween(t, enc, "    age:\n", "    lastmodified:", ""),
		"garbled data key": replaceLine(t, enc, "            YWdl", "            Z2FyYmFnZQ=="),
		"broken yaml":      strings.Replace(enc, "database:", "database: [", 1),
		"json truncated":   encJSON[:len(encJSON)-20],
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			got, _, err := decryptFile(t, withKeys(ageKeys(id)), "f.yaml", []byte(content))
			refused(t, s, got, err, "f.yaml", ErrMalformedMetadata)
		})
	}
}

// replaceLine replaces the first line starting with prefix.
func replaceLine(t *testing.T, s, prefix, with string) string {
	t.Helper()
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			lines[i] = with
			return strings.Join(lines, "\n")
		}
	}
	t.Fatalf("no line starts with %q", prefix)
	return ""
}

// cutBetween replaces the text from start up to (not including) end.
func cutBetween(t *testing.T, s, start, end, with string) string {
	t.Helper()
	i, j := strings.Index(s, start), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("cannot find %q..%q", start, end)
	}
	return s[:i] + with + s[j:]
}

func TestFileBoundsFileSize(t *testing.T) {
	s := newSecrets()
	id := s.ageKey(t)
	opts := withKeys(ageKeys(id))
	big := fmt.Sprintf("blob: %s%s\n", s.canary("big"), strings.Repeat("x", DefaultMaxFileSize))
	got, _, err := decryptFile(t, opts, "a/huge.yaml", seal(t, FormatYAML, []byte(big), forAge(t, id)))
	refused(t, s, got, err, "a/huge.yaml", ErrTooLarge)

	plainBig := []byte("# large plain file\n" + strings.Repeat("kind: ConfigMap\n", DefaultMaxFileSize/16+1))
	got, format, err := decryptFile(t, opts, "b/plain.yaml", plainBig)
	if err != nil || format != "" || !bytes.Equal(got, plainBig) {
		t.Fatalf("a large plain file must be returned unchanged: format %q, %v", format, err)
	}

	small := withKeys(ageKeys(id))
	small.MaxFileSize = 512
	got, _, err = decryptFile(t, small, "c/small.yaml", seal(t, FormatYAML, helmValues(s.canary("s2"), "x"), forAge(t, id)))
	refused(t, s, got, err, "c/small.yaml", ErrTooLarge)
}

func TestFileWithoutKeysRefusesEncryptedFiles(t *testing.T) {
	s := newSecrets()
	id := s.ageKey(t)
	enc := seal(t, FormatYAML, secretYAML(s.canary("nokey"), "t"), forAge(t, id))
	got, _, err := decryptFile(t, DefaultOptions(), "app/secrets/secret.yaml", enc)
	refused(t, s, got, err, "app/secrets/secret.yaml", ErrNoKeys)

	if _, _, err := decryptFile(t, DefaultOptions(), "app/plain.yaml", []byte("kind: ConfigMap\n")); err != nil {
		t.Fatalf("a plain file needs no keys: %v", err)
	}
}

// panickingSource stands for a SOPS library bug: it panics inside the data key recovery.
type panickingSource struct{}

func (panickingSource) Decrypt(context.Context, *keyservice.Key, []byte) ([]byte, error) {
	panic("boom: " + "internal state")
}

func TestFileRecoversFromPanicInSOPS(t *testing.T) {
	s := newSecrets()
	id := s.ageKey(t)
	opts := DefaultOptions()
	opts.Sources = []KeySource{panickingSource{}}
	got, _, err := decryptFile(t, opts, "x.yaml", seal(t, FormatYAML, helmValues(s.canary("p"), "x"), forAge(t, id)))
	fe := refused(t, s, got, err, "x.yaml", ErrInternal)
	if strings.Contains(fe.Error(), "boom") {
		t.Fatalf("panic value reached the error: %v", fe)
	}
}

// TestFileConcurrentCallsKeepTheirKeys runs Decrypters with different keys at once, each
// shared by two goroutines: a file decrypts with its own Decrypter's keys, never another's.
func TestFileConcurrentCallsKeepTheirKeys(t *testing.T) {
	s := newSecrets()
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		own, foreign := s.ageKey(t), s.ageKey(t)
		plain := helmValues(s.canary(fmt.Sprint("c", i)), "x")
		mine := seal(t, FormatYAML, plain, forAge(t, own))
		theirs := seal(t, FormatYAML, plain, forAge(t, foreign))
		d, err := NewDecrypter(withKeys(ageKeys(own)))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, _, err := d.File(context.Background(), "v.yaml", mine); err != nil {
				errs <- fmt.Errorf("own key: %w", err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, _, err := d.File(context.Background(), "v.yaml", theirs); !errors.Is(err, ErrNoMatchingKey) {
				errs <- fmt.Errorf("another call's key must not decrypt: %w", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestFileHonoursContext(t *testing.T) {
	s := newSecrets()
	id := s.ageKey(t)
	d, err := NewDecrypter(withKeys(ageKeys(id)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got, _, err := d.File(ctx, "d/x.yaml", seal(t, FormatYAML, helmValues(s.canary("ctx"), "x"), forAge(t, id)))
	refused(t, s, got, err, "d/x.yaml", context.Canceled)
}

func TestNewDecrypterRefusesInvalidKeys(t *testing.T) {
	s := newSecrets()
	secretish := "AGE-SECRET-KEY-1" + strings.ToUpper(s.canary("key"))
	s.add(secretish)
	cases := map[string]Keys{
		"garbage age key": {Age: [][]byte{[]byte("# ok\n" + secretish + "\n")}},
		"plugin identity": {Age: [][]byte{[]byte("AGE-PLUGIN-YUBIKEY-1QQQQQQ")}},
		"empty age entry": {Age: [][]byte{[]byte("# nothing\n")}},
		"garbage pgp key": {PGP: [][]byte{[]byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n" + secretish)}},
	}
	for name, k := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := NewDecrypter(withKeys(k))
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("got %v, want ErrInvalidKey", err)
			}
			s.assertNoLeak(t, err)
		})
	}
}
