package decrypt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/getsops/sops/v3/keyservice"
	"google.golang.org/grpc"
)

// maxDataKeySize bounds what a key source may return: a SOPS data key (or a Shamir part of
// one) is 32 bytes, plus one byte for the Shamir tag.
const maxDataKeySize = 1024

// Key source outcomes, for errors.Is on what a KeySource returns.
var (
	// ErrKeyTypeNotHandled is returned by a KeySource for a master key of a kind it does not
	// handle; the next source is tried.
	ErrKeyTypeNotHandled = errors.New("key type not handled by this source")
	// ErrKeyNotMatched is returned by a KeySource that handles the kind of master key but holds
	// no key able to decrypt it.
	ErrKeyNotMatched = errors.New("no key of this source matches")
)

// KeySource recovers SOPS data keys with one kind of master key. It is the seam for further
// providers: a cloud KMS or Vault client implements it and is passed in Options.Sources. The
// key is SOPS's own key-service description of the master key (age recipient, PGP fingerprint,
// KMS ARN, …), so a provider has every field SOPS stores.
type KeySource interface {
	// Decrypt returns the data key that encryptedKey holds for the master key key. It returns
	// an error wrapping ErrKeyTypeNotHandled for a kind of key it does not handle, and one
	// wrapping ErrKeyNotMatched when it holds no key for this master key. Its errors must not
	// contain key material.
	Decrypt(ctx context.Context, key *keyservice.Key, encryptedKey []byte) ([]byte, error)
}

// sources parses the configured keys into key sources, the built-in ones first.
func (k Keys) sources(extra []KeySource) ([]KeySource, error) {
	var out []KeySource
	if len(k.Age) > 0 {
		src, err := parseAge(k.Age)
		if err != nil {
			return nil, err
		}
		out = append(out, src)
	}
	if len(k.PGP) > 0 {
		src, err := parsePGP(k.PGP)
		if err != nil {
			return nil, err
		}
		out = append(out, src)
	}
	return append(out, extra...), nil
}

// ageSource decrypts age master keys with identities given as data.
type ageSource struct {
	identities []age.Identity
}

// parseAge parses age identities line by line. Only native X25519 and hybrid post-quantum
// identities are accepted: a plugin identity would run a program.
func parseAge(entries [][]byte) (*ageSource, error) {
	src := &ageSource{}
	for i, entry := range entries {
		sc := bufio.NewScanner(bytes.NewReader(entry))
		for line := 1; sc.Scan(); line++ {
			text := strings.TrimSpace(sc.Text())
			if text == "" || strings.HasPrefix(text, "#") {
				continue
			}
			id, err := parseAgeIdentity(text)
			if err != nil {
				return nil, &KeyError{Kind: "age", Index: i, Line: line, Detail: err.Error()}
			}
			src.identities = append(src.identities, id)
		}
		if sc.Err() != nil {
			return nil, &KeyError{Kind: "age", Index: i, Detail: "cannot be read line by line"}
		}
	}
	if len(src.identities) == 0 {
		return nil, &KeyError{Kind: "age", Index: -1, Detail: "no identity found in any entry"}
	}
	return src, nil
}

// parseAgeIdentity parses one identity; its errors are fixed strings, since age's own errors
// may quote part of the key.
func parseAgeIdentity(text string) (age.Identity, error) {
	upper := strings.ToUpper(text)
	switch {
	case strings.HasPrefix(upper, "AGE-PLUGIN-"):
		return nil, errors.New("age plugin identities are not supported")
	case strings.HasPrefix(upper, "AGE-SECRET-KEY-PQ-1"):
		if id, err := age.ParseHybridIdentity(text); err == nil {
			return id, nil
		}
	case strings.HasPrefix(upper, "AGE-SECRET-KEY-1"):
		if id, err := age.ParseX25519Identity(text); err == nil {
			return id, nil
		}
	}
	return nil, errors.New("not a valid age identity")
}

// Decrypt implements KeySource for age master keys.
func (s *ageSource) Decrypt(_ context.Context, key *keyservice.Key, encryptedKey []byte) ([]byte, error) {
	if _, ok := key.GetKeyType().(*keyservice.Key_AgeKey); !ok {
		return nil, ErrKeyTypeNotHandled
	}
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(encryptedKey)), s.identities...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, ErrKeyNotMatched
		}
		return nil, errMalformedKey
	}
	return readDataKey(r)
}

// errMalformedKey marks an encrypted data key that cannot be parsed at all.
var errMalformedKey = errors.New("encrypted data key is malformed")

// readDataKey reads a decrypted data key, refusing anything larger than a data key.
func readDataKey(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxDataKeySize+1))
	if err != nil || len(b) == 0 || len(b) > maxDataKeySize {
		return nil, errMalformedKey
	}
	return b, nil
}

// keyService is the only SOPS key service a call uses: it serves decrypt requests from the
// call's own key sources, so no key is ever looked up in the environment, and it records the
// outcomes to explain a failure without SOPS's error strings.
type keyService struct {
	ctx     context.Context
	sources []KeySource

	mu        sync.Mutex
	unhandled map[string]bool // kinds of master key no source handles
	malformed bool            // a source found an encrypted data key unreadable
}

func newKeyService(ctx context.Context, sources []KeySource) *keyService {
	return &keyService{ctx: ctx, sources: sources, unhandled: map[string]bool{}}
}

// Decrypt implements keyservice.KeyServiceClient by asking each source in turn.
func (s *keyService) Decrypt(_ context.Context, req *keyservice.DecryptRequest, _ ...grpc.CallOption) (*keyservice.DecryptResponse, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, err
	}
	handled := false
	for _, src := range s.sources {
		plain, err := src.Decrypt(s.ctx, req.GetKey(), req.GetCiphertext())
		switch {
		case err == nil:
			return &keyservice.DecryptResponse{Plaintext: plain}, nil
		case errors.Is(err, ErrKeyTypeNotHandled):
			continue
		case errors.Is(err, errMalformedKey):
			s.record(func() { s.malformed = true })
		}
		handled = true
	}
	if !handled {
		kind := keyKind(req.GetKey())
		s.record(func() { s.unhandled[kind] = true })
	}
	return nil, ErrKeyNotMatched
}

// Encrypt implements keyservice.KeyServiceClient; this package never encrypts.
func (s *keyService) Encrypt(context.Context, *keyservice.EncryptRequest, ...grpc.CallOption) (*keyservice.EncryptResponse, error) {
	return nil, errors.New("encryption is not supported")
}

func (s *keyService) record(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

// keyKind names a master key's kind as SOPS metadata does.
func keyKind(k *keyservice.Key) string {
	switch k.GetKeyType().(type) {
	case *keyservice.Key_AgeKey:
		return "age"
	case *keyservice.Key_PgpKey:
		return "pgp"
	case *keyservice.Key_KmsKey:
		return "kms"
	case *keyservice.Key_GcpKmsKey:
		return "gcp_kms"
	case *keyservice.Key_AzureKeyvaultKey:
		return "azure_kv"
	case *keyservice.Key_VaultKey:
		return "hc_vault"
	case *keyservice.Key_HckmsKey:
		return "hckms"
	}
	return fmt.Sprintf("%T", k.GetKeyType())
}
