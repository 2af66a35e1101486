// Package decrypt decrypts SOPS-encrypted files one at a time, as the render reads them, and
// guards the rendered objects against any ciphertext that slipped through.
//
// The controller makes a [Decrypter] with the keys read from the Secret named by
// spec.decryption.secretRef and hands its [Decrypter.File] to the render, which passes it each
// file it read that names SOPS, wherever the file is in the checkout: a file the render never
// reads is never decrypted and needs no key. The controller makes a Decrypter even when
// decryption is not configured: an encrypted file read is then an error naming the file
// ([ErrNoKeys]) instead of ciphertext reaching the cluster. Before apply it calls [Guard] on
// the rendered objects.
//
// Files are recognised by their SOPS metadata ([Detect]), never by their name: YAML (one or
// several documents), JSON, dotenv, INI and binary files all work, and a file without metadata
// is returned unchanged. The plaintext is byte for byte what `sops decrypt` prints. Decryption
// works on the content in memory: this package opens no file. It uses the SOPS Go library
// in-process with the keys passed in [Options]; nothing is read from the environment, the home
// directory or a key agent, and no command is run, so two Decrypters with different keys never
// see each other's keys.
//
// A Decrypter is safe for concurrent use. Of the SOPS library's process-wide state, only two
// things remain, neither of which carries keys: its loggers print warnings to stderr (on the
// decrypt path only a warning quoting a comment that failed to decrypt, i.e. ciphertext), and
// its audit hook reads /etc/sops/audit.yaml once at start-up if it exists.
//
// Every error that concerns a file is a [*FileError] naming the file as the caller named it and
// wrapping one of the sentinel errors (ErrNoKeys, ErrNoMatchingKey, ErrMACMismatch,
// ErrMalformedMetadata, ErrUnsupportedFormat, ErrTooLarge, ErrInternal) or the context's error.
// Errors never contain plaintext, ciphertext or key material: the SOPS library's own messages
// can echo file content, so they are never passed on. A suggested mapping to condition
// reasons: ErrTooLarge → LimitExceeded, anything else → DecryptionFailed.
package decrypt
