package decrypt

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/ProtonMail/go-crypto/openpgp"
	pgparmor "github.com/ProtonMail/go-crypto/openpgp/armor"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/keys"
	"github.com/getsops/sops/v3/keyservice"
	"github.com/getsops/sops/v3/kms"
)

func TestParseAge(t *testing.T) {
	s := newSecrets()
	a, b := s.ageKey(t), s.ageKey(t)
	src, err := parseAge([][]byte{
		[]byte("# created: today\n# public key: " + a.Recipient().String() + "\n" + a.String() + "\n\n"),
		[]byte("  " + b.String() + "  \r\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(src.identities) != 2 {
		t.Fatalf("parsed %d identities, want 2", len(src.identities))
	}

	_, err = parseAge([][]byte{[]byte(a.String()), []byte("# ok\n\nAGE-SECRET-KEY-1NOTVALID\n")})
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Kind != "age" || ke.Index != 1 || ke.Line != 3 {
		t.Fatalf("got %v, want a KeyError for age key #1 line 3", err)
	}
	if strings.Contains(err.Error(), "NOTVALID") {
		t.Fatalf("error quotes the key: %v", err)
	}
}

func TestFileWithHybridAgeKey(t *testing.T) {
	s := newSecrets()
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	s.add(id.String())
	mk, err := sopsage.MasterKeyFromRecipient(id.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	plain := helmValues(s.canary("pq"), "x")
	enc := seal(t, FormatYAML, plain, sealSpec{groups: [][]keys.MasterKey{{mk}}})
	got, _, err := decryptFile(t, withKeys(Keys{Age: [][]byte{[]byte(id.String())}}), "v.yaml", enc)
	if err != nil {
		t.Fatal(err)
	}
	sameContent(t, FormatYAML, got, plain)
}

func TestFileWithPGPKey(t *testing.T) {
	s := newSecrets()
	mk, private := s.pgpKey(t)
	other, otherPrivate := s.pgpKey(t)
	ageID := s.ageKey(t)
	plain := dotenvFile(s.canary("pgp"), s.canary("pgp2"))
	spec := sealSpec{groups: [][]keys.MasterKey{{mk}}}
	mixed := sealSpec{groups: [][]keys.MasterKey{append(ageGroup(t, ageID), other)}}
	cases := []struct {
		name string
		spec sealSpec
		keys Keys
		want error
	}{
		{"pgp key", spec, Keys{PGP: [][]byte{private}}, nil},
		{"wrong pgp key", spec, Keys{PGP: [][]byte{otherPrivate}}, ErrNoMatchingKey},
		{"age recipient of a mixed file, pgp key", mixed, Keys{PGP: [][]byte{otherPrivate}}, nil},
		{"only an age key for a pgp file", spec, ageKeys(ageID), ErrNoMatchingKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := decryptFile(t, withKeys(tc.keys), "secret.env", seal(t, FormatDotenv, plain, tc.spec))
			if tc.want != nil {
				refused(t, s, got, err, "secret.env", tc.want)
				return
			}
			s.assertNoLeak(t, err)
			if err != nil {
				t.Fatal(err)
			}
			sameContent(t, FormatDotenv, got, plain)
		})
	}
}

func TestParsePGPRefusesProtectedKeys(t *testing.T) {
	e, err := openpgp.NewEntity("locked", "", "locked@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.EncryptPrivateKeys([]byte("passphrase"), nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, _ := pgparmor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	_, err = parsePGP([][]byte{buf.Bytes()})
	var ke *KeyError
	if !errors.As(err, &ke) || !strings.Contains(ke.Detail, "passphrase") {
		t.Fatalf("got %v, want a KeyError about the passphrase", err)
	}
}

// fakeKMS stands for a cloud KMS provider plugged in through Options.Sources: it "decrypts"
// what fixtureKMS "encrypted" for its ARN.
type fakeKMS struct{ arn string }

func (f fakeKMS) Decrypt(_ context.Context, key *keyservice.Key, enc []byte) ([]byte, error) {
	k, ok := key.GetKeyType().(*keyservice.Key_KmsKey)
	if !ok {
		return nil, ErrKeyTypeNotHandled
	}
	if k.KmsKey.Arn != f.arn || !bytes.HasPrefix(enc, []byte(fakeKMSPrefix)) {
		return nil, ErrKeyNotMatched
	}
	return bytes.TrimPrefix(enc, []byte(fakeKMSPrefix)), nil
}

const fakeKMSPrefix = "fake-kms:"

func TestFileWithExtraKeySource(t *testing.T) {
	s := newSecrets()
	arn := "arn:aws:kms:eu-west-1:000000000000:key/test"
	plain := helmValues(s.canary("kms"), "x")
	spec := sealSpec{groups: [][]keys.MasterKey{{kms.NewMasterKeyFromArn(arn, nil, "")}}}
	enc := seal(t, FormatYAML, plain, spec)

	opts := DefaultOptions()
	opts.Sources = []KeySource{fakeKMS{arn: arn}}
	got, _, err := decryptFile(t, opts, "v.yaml", enc)
	if err != nil {
		t.Fatal(err)
	}
	sameContent(t, FormatYAML, got, plain)

	got, _, err = decryptFile(t, withKeys(ageKeys(s.ageKey(t))), "v.yaml", enc)
	fe := refused(t, s, got, err, "v.yaml", ErrNoMatchingKey)
	if !strings.Contains(fe.Detail, "no key source handles kms") {
		t.Fatalf("detail %q does not say which key kind has no source", fe.Detail)
	}
}
