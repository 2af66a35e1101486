package decrypt

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keyservice"
	"github.com/getsops/sops/v3/stores/dotenv"
	"github.com/getsops/sops/v3/stores/ini"
	sopsjson "github.com/getsops/sops/v3/stores/json"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
)

// maxRecipientsNamed bounds how many recipients an error lists.
const maxRecipientsNamed = 5

// decryptData decrypts one SOPS document of the given format with the given key sources and
// verifies its MAC. A failure is a *FileError without a path; its detail is built here from
// non-secret facts only, because SOPS's error strings can echo file content.
func decryptData(ctx context.Context, format Format, data []byte, sources []KeySource) (plain []byte, ferr *FileError) {
	defer func() {
		if r := recover(); r != nil {
			plain, ferr = nil, &FileError{Reason: ErrInternal, Detail: "the sops library panicked"}
		}
	}()
	loader, emitter := storesFor(format, data)
	tree, err := loader.LoadEncryptedFile(data)
	if err != nil {
		return nil, &FileError{Reason: ErrMalformedMetadata, Detail: loadDetail(err)}
	}
	if detail := checkMetadata(tree.Metadata); detail != "" {
		return nil, &FileError{Reason: ErrMalformedMetadata, Detail: detail}
	}
	ks := newKeyService(ctx, sources)
	key, err := tree.Metadata.GetDataKeyWithKeyServices([]keyservice.KeyServiceClient{ks}, nil)
	if err != nil {
		return nil, ks.explain(tree.Metadata)
	}
	if ferr := verify(&tree, key); ferr != nil {
		return nil, ferr
	}
	out, err := emitter.EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, &FileError{Reason: ErrUnsupportedFormat, Detail: fmt.Sprintf("cannot write the plaintext as %s", format)}
	}
	return out, nil
}

// storesFor returns SOPS's loader and plaintext emitter for a format, configured as the sops
// CLI configures them by default (JSON indented with tabs, YAML with four spaces), so the
// plaintext is byte for byte what `sops decrypt` prints. A binary file's envelope is JSON as
// SOPS writes it, or YAML if it was converted.
func storesFor(format Format, data []byte) (sops.EncryptedFileLoader, sops.PlainFileEmitter) {
	cfg := config.NewStoresConfig()
	yamlStore := sopsyaml.NewStore(&cfg.YAML)
	jsonStore := sopsjson.NewStore(&cfg.JSON)
	switch format {
	case FormatJSON:
		return jsonStore, jsonStore
	case FormatDotenv:
		s := dotenv.NewStore(&cfg.Dotenv)
		return s, s
	case FormatINI:
		s := ini.NewStore(&cfg.INI)
		return s, s
	case FormatBinary:
		bin := sopsjson.NewBinaryStore(&cfg.JSONBinary)
		if body := bytes.TrimLeft(bytes.TrimPrefix(data, utf8BOM), " \t\r\n"); len(body) > 0 && body[0] == '{' {
			return jsonStore, bin
		}
		return yamlStore, bin
	}
	return yamlStore, yamlStore
}

// loadDetail explains a load failure without SOPS's message, which may quote the file.
func loadDetail(err error) string {
	if errors.Is(err, sops.MetadataNotFound) {
		return "the sops metadata is not where sops expects it"
	}
	return "the file or its sops metadata cannot be parsed"
}

// checkMetadata finds metadata that SOPS would accept but cannot decrypt with.
func checkMetadata(m sops.Metadata) string {
	if len(m.KeyGroups) == 0 {
		return "no master keys"
	}
	for _, g := range m.KeyGroups {
		if len(g) == 0 {
			return "an empty key group"
		}
	}
	if n := len(m.KeyGroups); n > 1 && m.ShamirThreshold > n {
		return fmt.Sprintf("shamir threshold %d exceeds the %d key groups", m.ShamirThreshold, n)
	}
	return ""
}

// verify decrypts the tree in place with the data key and checks the file's MAC.
func verify(tree *sops.Tree, key []byte) *FileError {
	mismatch := func(detail string) *FileError {
		return &FileError{Reason: ErrMACMismatch, Detail: detail}
	}
	cipher := aes.NewCipher()
	computed, err := tree.Decrypt(key, cipher)
	if err != nil {
		return mismatch("an encrypted value does not authenticate with the file's data key")
	}
	if tree.Metadata.MessageAuthenticationCode == "" {
		return mismatch("the file has no mac")
	}
	stored, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, key,
		tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return mismatch("the stored mac does not authenticate with the file's data key")
	}
	s, ok := stored.(string)
	if !ok || subtle.ConstantTimeCompare([]byte(s), []byte(computed)) != 1 {
		return mismatch("the stored mac differs from the content's")
	}
	return nil
}

// explain turns a failure to recover the data key into a *FileError from what the key service
// saw and the file's public metadata (recipients, key groups).
func (s *keyService) explain(m sops.Metadata) *FileError {
	if err := s.ctx.Err(); err != nil {
		return &FileError{Reason: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.malformed {
		return &FileError{Reason: ErrMalformedMetadata, Detail: "an encrypted data key cannot be parsed"}
	}
	var parts []string
	if n := len(m.KeyGroups); n > 1 {
		need := m.ShamirThreshold
		if need <= 0 {
			need = n
		}
		parts = append(parts, fmt.Sprintf("%d of %d key groups are required", need, n))
	}
	parts = append(parts, "the file is encrypted for "+recipients(m))
	if len(s.unhandled) > 0 {
		kinds := make([]string, 0, len(s.unhandled))
		for k := range s.unhandled {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		parts = append(parts, "no key source handles "+strings.Join(kinds, ", "))
	}
	return &FileError{Reason: ErrNoMatchingKey, Detail: strings.Join(parts, "; ")}
}

// recipients lists the file's master keys by their public names (age recipient, PGP
// fingerprint, KMS key id), at most maxRecipientsNamed of them.
func recipients(m sops.Metadata) string {
	var names []string
	total := 0
	for _, g := range m.KeyGroups {
		for _, k := range g {
			total++
			if len(names) < maxRecipientsNamed {
				names = append(names, k.TypeToIdentifier()+" "+printable(k.ToString(), 100))
			}
		}
	}
	out := strings.Join(names, ", ")
	if total > len(names) {
		out += fmt.Sprintf(" and %d more", total-len(names))
	}
	return out
}

// printable bounds a string taken from a file's public metadata before it goes into an error:
// at most n bytes, control characters replaced.
func printable(s string, n int) string {
	if len(s) > n {
		s = s[:n] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
