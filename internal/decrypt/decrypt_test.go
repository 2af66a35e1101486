package decrypt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/getsops/sops/v3/keys"
	"github.com/getsops/sops/v3/keyservice"
)

func assertMode0600(t *testing.T, p string) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %v, want 0600", p, fi.Mode().Perm())
	}
}

func TestTreeDecryptsEveryFormat(t *testing.T) {
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
	files := map[string][]byte{"app/plain.yaml": []byte("kind: ConfigMap\n")}
	for _, tc := range cases {
		files[tc.name] = seal(t, tc.format, tc.plain, tc.spec)
	}
	root := newTree(t, files)

	res, err := Tree(context.Background(), root, withKeys(ageKeys(id)), "app")
	if err != nil {
		s.assertNoLeak(t, err)
		t.Fatalf("Tree: %v", err)
	}
	got := map[string]Format{}
	for _, f := range res.Decrypted {
		got[f.Path] = f.Format
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got[tc.name] != tc.format {
				t.Fatalf("decrypted as %q, want %q (result %+v)", got[tc.name], tc.format, res.Decrypted)
			}
			sameContent(t, tc.format, readFile(t, root, tc.name), tc.plain)
			assertMode0600(t, filepath.Join(root, tc.name))
		})
	}
	if len(res.Decrypted) != len(cases) || res.Examined != len(cases)+1 {
		t.Fatalf("decrypted %d, examined %d; want %d and %d", len(res.Decrypted), res.Examined, len(cases), len(cases)+1)
	}
	if string(readFile(t, root, "app/plain.yaml")) != "kind: ConfigMap\n" {
		t.Fatal("a plain file was changed")
	}
}

func TestTreeDecryptsNamedFilesOnlyInsideTheirPaths(t *testing.T) {
	s := newSecrets()
	id := s.ageKey(t)
	enc := func() []byte { return seal(t, FormatYAML, helmValues(s.canary("v"), "a"), forAge(t, id)) }
	root := newTree(t, map[string][]byte{
		"deploy/prod/secret.yaml":  enc(),
		"charts/web/values.yaml":   enc(),
		"charts/web/other.yaml":    enc(),
		"deploy/.git/objects/x":    enc(),
		"unrelated/secret.yaml":    enc(),
		"deploy/prod/nested/a.env": seal(t, FormatDotenv, dotenvFile(s.canary("n"), "b"), forAge(t, id)),
	})
	res, err := Tree(context.Background(), root, withKeys(ageKeys(id)), "deploy", "charts/web/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range res.Decrypted {
		paths = append(paths, f.Path)
	}
	want := []string{"deploy/prod/nested/a.env", "deploy/prod/secret.yaml", "charts/web/values.yaml"}
	if !reflect.DeepEqual(paths, want) {
		t.Fatalf("decrypted %v, want %v", paths, want)
	}
	for _, untouched := range []string{"charts/web/other.yaml", "deploy/.git/objects/x", "unrelated/secret.yaml"} {
		if _, ok := Detect(untouched, readFile(t, root, untouched)); !ok {
			t.Errorf("%s was decrypted but is outside the named paths", untouched)
		}
	}
}

func TestTreeMultiRecipientAndKeyGroups(t *testing.T) {
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
			root := newTree(t, map[string][]byte{"values.yaml": seal(t, FormatYAML, plain, tc.spec)})
			_, err := Tree(context.Background(), root, withKeys(tc.keys))
			s.assertNoLeak(t, err)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				sameContent(t, FormatYAML, readFile(t, root, "values.yaml"), plain)
				return
			}
			fe := fileError(t, err, "values.yaml", ErrNoMatchingKey)
			if !strings.Contains(fe.Detail, tc.wantErr) {
				t.Fatalf("detail %q does not say %q", fe.Detail, tc.wantErr)
			}
			if _, ok := Detect("values.yaml", readFile(t, root, "values.yaml")); !ok {
				t.Fatal("a file that failed to decrypt was changed")
			}
		})
	}
}

func TestTreeRefusesTamperedFiles(t *testing.T) {
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
			root := newTree(t, map[string][]byte{"s/secret.yaml": []byte(tampered)})
			_, err := Tree(context.Background(), root, withKeys(ageKeys(id)))
			s.assertNoLeak(t, err)
			fileError(t, err, "s/secret.yaml", ErrMACMismatch)
			if string(readFile(t, root, "s/secret.yaml")) != tampered {
				t.Fatal("a file that failed its MAC check was changed")
			}
		})
	}
}

func TestTreeRefusesMalformedMetadata(t *testing.T) {
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
			root := newTree(t, map[string][]byte{"f.yaml": []byte(content)})
			_, err := Tree(context.Background(), root, withKeys(ageKeys(id)))
			s.assertNoLeak(t, err)
			fileError(t, err, "f.yaml", ErrMalformedMetadata)
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

func TestTreeBoundsFileSize(t *testing.T) {
	s := newSecrets()
	id := s.ageKey(t)
	big := fmt.Sprintf("blob: %s%s\n", s.canary("big"), strings.Repeat("x", DefaultMaxFileSize))
	plainBig := []byte("# large plain file\n" + strings.Repeat("kind: ConfigMap\n", DefaultMaxFileSize/16+1))
	root := newTree(t, map[string][]byte{
		"a/huge.yaml":  seal(t, FormatYAML, []byte(big), forAge(t, id)),
		"b/plain.yaml": plainBig,
		"c/small.yaml": seal(t, FormatYAML, helmValues(s.canary("small"), "x"), forAge(t, id)),
	})
	_, err := Tree(context.Background(), root, withKeys(ageKeys(id)), "a")
	s.assertNoLeak(t, err)
	fileError(t, err, "a/huge.yaml", ErrTooLarge)

	res, err := Tree(context.Background(), root, withKeys(ageKeys(id)), "b", "c")
	if err != nil {
		t.Fatalf("a large plain file must be left alone: %v", err)
	}
	if len(res.Decrypted) != 1 || !bytes.Equal(readFile(t, root, "b/plain.yaml"), plainBig) {
		t.Fatalf("unexpected result %+v", res)
	}

	small := withKeys(ageKeys(id))
	small.MaxFileSize = 512
	root = newTree(t, map[string][]byte{"c/small.yaml": seal(t, FormatYAML, helmValues(s.canary("s2"), "x"), forAge(t, id))})
	_, err = Tree(context.Background(), root, small)
	fileError(t, err, "c/small.yaml", ErrTooLarge)
}

func TestTreeBoundsFileCount(t *testing.T) {
	files := map[string][]byte{}
	for i := range 5 {
		files[fmt.Sprintf("f%d.yaml", i)] = []byte("a: b\n")
	}
	opts := DefaultOptions()
	opts.MaxFiles = 4
	_, err := Tree(context.Background(), newTree(t, files), opts)
	if !errors.Is(err, ErrTooManyFiles) {
		t.Fatalf("got %v, want ErrTooManyFiles", err)
	}
}

func TestTreeWithoutKeysRefusesEncryptedFiles(t *testing.T) {
	s := newSecrets()
	id := s.ageKey(t)
	root := newTree(t, map[string][]byte{
		"app/plain.yaml":          []byte("kind: ConfigMap\n"),
		"app/secrets/secret.yaml": seal(t, FormatYAML, secretYAML(s.canary("nokey"), "t"), forAge(t, id)),
	})
	res, err := Tree(context.Background(), root, DefaultOptions(), "app")
	s.assertNoLeak(t, err)
	fileError(t, err, "app/secrets/secret.yaml", ErrNoKeys)
	if len(res.Decrypted) != 0 {
		t.Fatalf("decrypted %v without keys", res.Decrypted)
	}

	plainOnly := newTree(t, map[string][]byte{"app/plain.yaml": []byte("kind: ConfigMap\n")})
	if _, err := Tree(context.Background(), plainOnly, DefaultOptions(), "app"); err != nil {
		t.Fatalf("a tree without encrypted files needs no keys: %v", err)
	}
}

func TestTreeMissingPath(t *testing.T) {
	root := newTree(t, map[string][]byte{"a.yaml": []byte("a: b\n")})
	_, err := Tree(context.Background(), root, DefaultOptions(), "values-missing.yaml")
	fileError(t, err, "values-missing.yaml", os.ErrNotExist)
}

// panickingSource stands for a SOPS library bug: it panics inside the data key recovery.
type panickingSource struct{}

func (panickingSource) Decrypt(context.Context, *keyservice.Key, []byte) ([]byte, error) {
	panic("boom: " + "internal state")
}

func TestTreeRecoversFromPanicInSOPS(t *testing.T) {
	s := newSecrets()
	id := s.ageKey(t)
	root := newTree(t, map[string][]byte{"x.yaml": seal(t, FormatYAML, helmValues(s.canary("p"), "x"), forAge(t, id))})
	opts := DefaultOptions()
	opts.Sources = []KeySource{panickingSource{}}
	_, err := Tree(context.Background(), root, opts)
	fe := fileError(t, err, "x.yaml", ErrInternal)
	if strings.Contains(fe.Error(), "boom") {
		t.Fatalf("panic value reached the error: %v", fe)
	}
}

func TestTreeConcurrentCallsKeepTheirKeys(t *testing.T) {
	s := newSecrets()
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		own, foreign := s.ageKey(t), s.ageKey(t)
		plain := helmValues(s.canary(fmt.Sprint("c", i)), "x")
		mine := newTree(t, map[string][]byte{"v.yaml": seal(t, FormatYAML, plain, forAge(t, own))})
		theirs := newTree(t, map[string][]byte{"v.yaml": seal(t, FormatYAML, plain, forAge(t, foreign))})
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := Tree(context.Background(), mine, withKeys(ageKeys(own))); err != nil {
				errs <- fmt.Errorf("own key: %w", err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := Tree(context.Background(), theirs, withKeys(ageKeys(own))); !errors.Is(err, ErrNoMatchingKey) {
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

func TestTreeHonoursContext(t *testing.T) {
	s := newSecrets()
	id := s.ageKey(t)
	root := newTree(t, map[string][]byte{"d/x.yaml": seal(t, FormatYAML, helmValues(s.canary("ctx"), "x"), forAge(t, id))})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Tree(ctx, root, withKeys(ageKeys(id))); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestTreeRefusesInvalidKeys(t *testing.T) {
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
			_, err := Tree(context.Background(), newTree(t, nil), withKeys(k))
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("got %v, want ErrInvalidKey", err)
			}
			s.assertNoLeak(t, err)
		})
	}
}
