package decrypt

import (
	"bytes"
	"context"
	"errors"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/getsops/sops/v3/keyservice"
)

// pgpSource decrypts OpenPGP master keys with private keys given as data, in-process: unlike
// SOPS's own PGP key source it never falls back to running gpg.
type pgpSource struct {
	keyring openpgp.EntityList
}

// parsePGP reads ASCII-armored private keys; a key without private material, or protected by a
// passphrase, is refused.
func parsePGP(entries [][]byte) (*pgpSource, error) {
	src := &pgpSource{}
	for i, entry := range entries {
		list, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(entry))
		if err != nil || len(list) == 0 {
			return nil, &KeyError{Kind: "pgp", Index: i, Detail: "not an ASCII-armored OpenPGP key"}
		}
		for _, e := range list {
			if detail := checkPrivate(e); detail != "" {
				return nil, &KeyError{Kind: "pgp", Index: i, Detail: detail}
			}
		}
		src.keyring = append(src.keyring, list...)
	}
	return src, nil
}

// checkPrivate returns why an entity cannot decrypt without help, or "" when it can.
func checkPrivate(e *openpgp.Entity) string {
	if e.PrivateKey == nil {
		return "not a private key"
	}
	if e.PrivateKey.Encrypted {
		return "protected by a passphrase, which is not supported"
	}
	for _, sub := range e.Subkeys {
		if sub.PrivateKey != nil && sub.PrivateKey.Encrypted {
			return "has a subkey protected by a passphrase, which is not supported"
		}
	}
	return ""
}

// Decrypt implements KeySource for PGP master keys.
func (s *pgpSource) Decrypt(_ context.Context, key *keyservice.Key, encryptedKey []byte) ([]byte, error) {
	if _, ok := key.GetKeyType().(*keyservice.Key_PgpKey); !ok {
		return nil, ErrKeyTypeNotHandled
	}
	block, err := armor.Decode(bytes.NewReader(encryptedKey))
	if err != nil {
		return nil, errMalformedKey
	}
	md, err := openpgp.ReadMessage(block.Body, s.keyring, nil, nil)
	if err != nil {
		if errors.Is(err, pgperrors.ErrKeyIncorrect) {
			return nil, ErrKeyNotMatched
		}
		return nil, errMalformedKey
	}
	return readDataKey(md.UnverifiedBody)
}
