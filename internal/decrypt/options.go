package decrypt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// DefaultMaxFileSize is the largest file, in bytes, that is decrypted by default (5 MiB).
const DefaultMaxFileSize = 5 << 20

// Keys is the private key material a call may decrypt with, as plain data. The controller fills
// it from the entries of the Secret named by spec.decryption.secretRef, in the AppSource's own
// namespace; this package never reads keys from anywhere else.
type Keys struct {
	// Age holds age identities, one element per "*.agekey" Secret entry. An element may hold
	// several "AGE-SECRET-KEY-1…" (or post-quantum "AGE-SECRET-KEY-PQ-1…") lines; empty lines
	// and lines starting with '#' are ignored. Plugin identities are refused, since they run a
	// program.
	Age [][]byte
	// PGP holds ASCII-armored OpenPGP private keys, one element per "*.asc" Secret entry. Keys
	// protected by a passphrase are refused.
	PGP [][]byte
}

// ID returns a digest that names the key material, for caches that must not
// serve what one set of keys decrypted to the holder of another. It reveals
// nothing of the keys.
func (k Keys) ID() string {
	h := sha256.New()
	for _, set := range [][][]byte{k.Age, k.PGP} {
		fmt.Fprintf(h, "%d;", len(set))
		for _, key := range set {
			fmt.Fprintf(h, "%d:", len(key))
			h.Write(key)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// IsZero reports whether no key material at all is configured.
func (k Keys) IsZero() bool {
	return len(k.Age) == 0 && len(k.PGP) == 0
}

// Options configures a Decrypter. The zero value is usable: an unset limit takes its default.
type Options struct {
	// Keys are the age and OpenPGP private keys to decrypt with. With no Keys and no Sources,
	// any encrypted file is an error wrapping ErrNoKeys.
	Keys Keys
	// Sources are further key sources tried after Keys, in order: the seam for cloud KMS or
	// Vault providers. Nil means none.
	Sources []KeySource
	// MaxFileSize is the largest encrypted file, in bytes, that is decrypted; a larger
	// encrypted file is an error wrapping ErrTooLarge. A larger file without SOPS metadata is
	// returned unchanged. Zero or less means DefaultMaxFileSize.
	MaxFileSize int64
}

// DefaultOptions returns Options with the default limit and no keys.
func DefaultOptions() Options {
	return Options{MaxFileSize: DefaultMaxFileSize}
}

// withDefaults fills an unset limit, so a zero Options is still bounded.
func (o Options) withDefaults() Options {
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	return o
}
