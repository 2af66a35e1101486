// Package decrypt decrypts, in place, the SOPS-encrypted files of a checked-out Git tree before
// it is rendered, and guards the rendered objects against any ciphertext that slipped through.
//
// The controller calls [Tree] between fetch and render with the checkout directory, the
// AppSource path and the files the render references outside it (Helm values files), and the
// keys read from the Secret named by spec.decryption.secretRef. It calls [Tree] even when
// decryption is not configured: an encrypted file is then an error naming the file
// ([ErrNoKeys]) instead of ciphertext reaching the cluster. Before apply it calls [Guard] on
// the rendered objects.
//
// Files are recognised by their SOPS metadata, never by their name: YAML (one or several
// documents), JSON, dotenv, INI and binary files all work. Decryption uses the SOPS Go library
// in-process with the keys passed in [Options]; nothing is read from the environment, the home
// directory or a key agent, and no command is run, so two concurrent calls with different keys
// never see each other's keys.
//
// Tree is safe for concurrent use on different trees. Of the SOPS library's process-wide
// state, only two things remain, neither of which carries keys: its loggers print warnings to
// stderr (on the decrypt path only a warning quoting a comment that failed to decrypt, i.e.
// ciphertext), and its audit hook reads /etc/sops/audit.yaml once at start-up if it exists.
//
// The caller owns the tree: it is the reconcile's private temporary directory, created with mode
// 0700, and the caller removes it when the reconcile ends, on success, failure or panic. This
// package writes plaintext only inside that tree, with mode 0600, and never outside it: every
// read and write goes through an [os.Root] and every symlink is resolved inside the tree.
// Plaintext replaces a file by a rename, never by writing into it, so a file hard-linked from
// a shared cache of checkouts is never overwritten with plaintext.
//
// Every error that concerns a file is a [*FileError] naming the file relative to the tree root
// and wrapping one of the sentinel errors (ErrNoKeys, ErrNoMatchingKey, ErrMACMismatch,
// ErrMalformedMetadata, ErrUnsupportedFormat, ErrTooLarge, ErrSymlinkOutOfBounds,
// ErrPathOutOfBounds, ErrInternal). Errors never contain plaintext, ciphertext or key
// material: the SOPS library's own messages can echo file content, so they are never passed on.
// A suggested mapping to condition reasons: ErrSymlinkOutOfBounds → SymlinkOutOfBounds,
// ErrPathOutOfBounds → PathOutOfBounds, ErrTooLarge and ErrTooManyFiles → LimitExceeded,
// anything else → DecryptionFailed.
package decrypt
