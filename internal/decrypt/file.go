package decrypt

import (
	"context"
	"fmt"
)

// Decrypter decrypts files one at a time, as a reader of the checkout meets
// them: the render asks about each file it reads, so a SOPS file anywhere in
// the checkout is decrypted when, and only when, something reads it. Its keys
// are parsed once. A Decrypter is safe for concurrent use.
type Decrypter struct {
	opts    Options
	sources []KeySource
}

// NewDecrypter parses opts' keys. A key that cannot be used is an error
// wrapping ErrInvalidKey.
func NewDecrypter(opts Options) (*Decrypter, error) {
	opts = opts.withDefaults()
	sources, err := opts.Keys.sources(opts.Sources)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	return &Decrypter{opts: opts, sources: sources}, nil
}

// File returns the plaintext of data, the content of the file name (a path
// relative to the checkout, for errors and for Detect), and the format it
// was encrypted as; a file without SOPS metadata is returned unchanged with
// no format. A failure is a *FileError naming the file; its message never
// holds file content or key material.
func (d *Decrypter) File(ctx context.Context, name string, data []byte) ([]byte, Format, error) {
	format, ok := Detect(name, data)
	if !ok {
		return data, "", nil
	}
	if int64(len(data)) > d.opts.MaxFileSize {
		return nil, format, fileErr(name, ErrTooLarge, "larger than %d bytes", d.opts.MaxFileSize)
	}
	if len(d.sources) == 0 {
		return nil, format, fileErr(name, ErrNoKeys, "%s file", format)
	}
	plain, ferr := decryptData(ctx, format, data, d.sources)
	if ferr != nil {
		ferr.Path = name
		return nil, format, ferr
	}
	return plain, format, nil
}
