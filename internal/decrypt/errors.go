package decrypt

import (
	"errors"
	"fmt"
)

// Reasons a file cannot be decrypted. A [*FileError] wraps exactly one of them, so callers test
// them with errors.Is. Their messages never carry file content or key material.
var (
	// ErrNoKeys means a file is SOPS-encrypted but no decryption key is configured.
	ErrNoKeys = errors.New("file is sops-encrypted but no decryption keys are configured")
	// ErrNoMatchingKey means none of the configured keys can recover the file's data key.
	ErrNoMatchingKey = errors.New("no configured key can decrypt the file")
	// ErrMACMismatch means the file failed its integrity check: its MAC does not match its
	// content, or an encrypted value does not authenticate. The file was altered after it was
	// encrypted and is never decrypted.
	ErrMACMismatch = errors.New("mac mismatch: the file was altered after encryption")
	// ErrMalformedMetadata means the file carries SOPS metadata that cannot be read.
	ErrMalformedMetadata = errors.New("malformed sops metadata")
	// ErrUnsupportedFormat means the file carries SOPS metadata but its content cannot be turned
	// back into its format.
	ErrUnsupportedFormat = errors.New("unsupported sops file format")
	// ErrTooLarge means an encrypted file is larger than Options.MaxFileSize.
	ErrTooLarge = errors.New("file exceeds the size limit")
	// ErrInternal means the SOPS library failed in an unexpected way (a panic); only the
	// current file fails.
	ErrInternal = errors.New("internal error in the sops library")
	// ErrInvalidKey means a configured key cannot be parsed or is not usable.
	ErrInvalidKey = errors.New("invalid decryption key")
	// ErrEncryptedObject means a rendered object still carries SOPS metadata.
	ErrEncryptedObject = errors.New("object still carries sops metadata")
)

// FileError is the error for one file: the file, as the caller named it, and the reason.
type FileError struct {
	// Path is the name the caller passed to Decrypter.File, normally relative to the checkout.
	Path string
	// Reason is one of the sentinel errors of this package, or the context's error when the
	// call was cancelled.
	Reason error
	// Detail is an optional explanation built only from non-secret facts (recipients, counts,
	// formats, limits).
	Detail string
}

// Error returns "decrypt <path>: <reason>[: <detail>]".
func (e *FileError) Error() string {
	msg := fmt.Sprintf("decrypt %s: %v", e.Path, e.Reason)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns the reason, so errors.Is works with the sentinel errors.
func (e *FileError) Unwrap() error {
	return e.Reason
}

// fileErr builds a *FileError with a formatted detail.
func fileErr(path string, reason error, format string, args ...any) *FileError {
	detail := format
	if len(args) > 0 {
		detail = fmt.Sprintf(format, args...)
	}
	return &FileError{Path: path, Reason: reason, Detail: detail}
}

// KeyError names a configured key that cannot be used, by its kind and position.
type KeyError struct {
	// Kind is "age" or "pgp".
	Kind string
	// Index is the position of the key in Keys.Age or Keys.PGP, from zero; -1 when the
	// error concerns all of them.
	Index int
	// Line is the line of the age key entry at fault, from one; zero when not known.
	Line int
	// Detail explains what is wrong, without any key material.
	Detail string
}

// Error returns a message naming the key by kind and index, never its content.
func (e *KeyError) Error() string {
	where := fmt.Sprintf("%s key #%d", e.Kind, e.Index)
	if e.Index < 0 {
		where = e.Kind + " keys"
	}
	if e.Line > 0 {
		where += fmt.Sprintf(" line %d", e.Line)
	}
	return fmt.Sprintf("%v: %s: %s", ErrInvalidKey, where, e.Detail)
}

// Unwrap returns ErrInvalidKey.
func (e *KeyError) Unwrap() error {
	return ErrInvalidKey
}
