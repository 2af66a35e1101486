package decrypt

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/ProtonMail/go-crypto/openpgp"
	pgparmor "github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keys"
	"github.com/getsops/sops/v3/keyservice"
	"github.com/getsops/sops/v3/pgp"
	"github.com/getsops/sops/v3/stores/dotenv"
	"github.com/getsops/sops/v3/stores/ini"
	sopsjson "github.com/getsops/sops/v3/stores/json"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"github.com/getsops/sops/v3/version"
	"google.golang.org/grpc"
)

// secrets records every canary and every private key a test made, so that each error can be
// searched for them: a secret value or a key in an error message is a leak.
type secrets struct {
	mu     sync.Mutex
	values []string
}

func newSecrets() *secrets { return &secrets{} }

// canary returns a unique secret value and remembers it.
func (s *secrets) canary(label string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	v := "canary-" + label + "-" + hex.EncodeToString(b)
	s.add(v)
	return v
}

func (s *secrets) add(v ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values = append(s.values, v...)
}

// ageKey generates a fresh age identity and remembers its private key.
func (s *secrets) ageKey(t testing.TB) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	s.add(id.String())
	return id
}

// assertNoLeak fails when err's message holds any secret value or private key, or SOPS
// ciphertext.
func (s *secrets) assertNoLeak(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.values {
		if strings.Contains(msg, v) {
			t.Errorf("error leaks a secret value or key: %q", msg)
		}
	}
	for _, marker := range []string{"ENC[", "AGE-SECRET-KEY", "PRIVATE KEY"} {
		if strings.Contains(msg, marker) {
			t.Errorf("error contains %q: %q", marker, msg)
		}
	}
}

// ageKeys returns Keys holding the given identities, one Secret entry each.
func ageKeys(ids ...*age.X25519Identity) Keys {
	var k Keys
	for _, id := range ids {
		k.Age = append(k.Age, []byte("# created by a test\n"+id.String()+"\n"))
	}
	return k
}

// withKeys returns DefaultOptions with the given keys.
func withKeys(k Keys) Options {
	o := DefaultOptions()
	o.Keys = k
	return o
}

// testStore returns SOPS's store for a format, configured as the sops CLI configures it.
func testStore(t testing.TB, f Format) sops.Store {
	t.Helper()
	cfg := config.NewStoresConfig()
	switch f {
	case FormatYAML:
		return sopsyaml.NewStore(&cfg.YAML)
	case FormatJSON:
		return sopsjson.NewStore(&cfg.JSON)
	case FormatDotenv:
		return dotenv.NewStore(&cfg.Dotenv)
	case FormatINI:
		return ini.NewStore(&cfg.INI)
	case FormatBinary:
		return sopsjson.NewBinaryStore(&cfg.JSONBinary)
	}
	t.Fatalf("unknown format %q", f)
	return nil
}

// sealSpec says how to encrypt a fixture: its key groups (each a list of master keys) and
// Shamir threshold, and optionally which keys to encrypt.
type sealSpec struct {
	groups         [][]keys.MasterKey
	threshold      int
	encryptedRegex string
}

// ageGroup returns one key group holding age master keys for the identities.
func ageGroup(t testing.TB, ids ...*age.X25519Identity) []keys.MasterKey {
	t.Helper()
	var g []keys.MasterKey
	for _, id := range ids {
		mk, err := sopsage.MasterKeyFromRecipient(id.Recipient().String())
		if err != nil {
			t.Fatal(err)
		}
		g = append(g, mk)
	}
	return g
}

// forAge is the common spec: one key group with the given age identities.
func forAge(t testing.TB, ids ...*age.X25519Identity) sealSpec {
	return sealSpec{groups: [][]keys.MasterKey{ageGroup(t, ids...)}}
}

// seal encrypts plain in the given format with the SOPS library, as `sops encrypt` does.
func seal(t testing.TB, f Format, plain []byte, spec sealSpec) []byte {
	t.Helper()
	store := testStore(t, f)
	branches, err := store.LoadPlainFile(plain)
	if err != nil {
		t.Fatalf("load plain %s: %v", f, err)
	}
	var groups []sops.KeyGroup
	for _, g := range spec.groups {
		groups = append(groups, sops.KeyGroup(g))
	}
	tree := sops.Tree{Branches: branches, Metadata: sops.Metadata{
		KeyGroups:       groups,
		ShamirThreshold: spec.threshold,
		Version:         version.Version,
		EncryptedRegex:  spec.encryptedRegex,
	}}
	if spec.encryptedRegex == "" {
		tree.Metadata.UnencryptedSuffix = "_unencrypted"
	}
	dataKey, errs := tree.GenerateDataKeyWithKeyServices([]keyservice.KeyServiceClient{fixtureKeyService{}})
	if len(errs) > 0 {
		t.Fatalf("generate data key: %v", errs)
	}
	cipher := aes.NewCipher()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		t.Fatal(err)
	}
	tree.Metadata.LastModified = time.Now().UTC()
	tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		t.Fatal(err)
	}
	out, err := store.EmitEncryptedFile(tree)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fixtureKeyService encrypts data keys for fixtures: age through SOPS's local key service
// (which needs only the recipient), PGP in-process with the test's public key, and KMS keys
// for the fakeKMS source.
type fixtureKeyService struct{}

// pgpRecipients maps a fingerprint to the entity a fixture encrypts for.
var pgpRecipients sync.Map

func (fixtureKeyService) Encrypt(ctx context.Context, req *keyservice.EncryptRequest, _ ...grpc.CallOption) (*keyservice.EncryptResponse, error) {
	var pk *keyservice.Key_PgpKey
	switch k := req.GetKey().GetKeyType().(type) {
	case *keyservice.Key_KmsKey:
		return &keyservice.EncryptResponse{Ciphertext: append([]byte(fakeKMSPrefix), req.Plaintext...)}, nil
	case *keyservice.Key_PgpKey:
		pk = k
	default:
		return keyservice.NewLocalClient().Encrypt(ctx, req)
	}
	v, ok := pgpRecipients.Load(pk.PgpKey.Fingerprint)
	if !ok {
		return nil, errors.New("unknown pgp fingerprint")
	}
	var buf bytes.Buffer
	aw, err := pgparmor.Encode(&buf, "PGP MESSAGE", nil)
	if err != nil {
		return nil, err
	}
	w, err := openpgp.Encrypt(aw, []*openpgp.Entity{v.(*openpgp.Entity)}, nil, &openpgp.FileHints{IsBinary: true}, nil)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(req.Plaintext); err != nil {
		return nil, err
	}
	if err := errors.Join(w.Close(), aw.Close()); err != nil {
		return nil, err
	}
	return &keyservice.EncryptResponse{Ciphertext: buf.Bytes()}, nil
}

func (fixtureKeyService) Decrypt(context.Context, *keyservice.DecryptRequest, ...grpc.CallOption) (*keyservice.DecryptResponse, error) {
	return nil, errors.New("fixtures never decrypt")
}

// pgpKey generates an OpenPGP key pair, registers it for fixtures, and returns its master key
// and its armored private key.
func (s *secrets) pgpKey(t testing.TB) (keys.MasterKey, []byte) {
	t.Helper()
	e, err := openpgp.NewEntity("driftless test", "", "test@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := pgparmor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fp := strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint))
	pgpRecipients.Store(fp, e)
	s.add(buf.String())
	return pgp.NewMasterKeyFromFingerprint(fp), buf.Bytes()
}

// newDir makes a directory holding files, each written with mode 0644 like a Git checkout,
// and returns its path.
func newDir(t testing.TB, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), data)
	}
	return dir
}

func writeFile(t testing.TB, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fileError asserts err is a *FileError for path with the given reason.
func fileError(t testing.TB, err error, path string, reason error) *FileError {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *FileError", err, err)
	}
	if !errors.Is(err, reason) {
		t.Fatalf("error %q does not wrap %q", err, reason)
	}
	if fe.Path != path {
		t.Fatalf("error names %q, want %q: %v", fe.Path, path, err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("error message %q does not name %q", err, path)
	}
	return fe
}
