// Package source fetches a ref of a Git repository into a directory.
//
// A Client keeps one bare, shallow repository per URL and credentials
// identity in a bounded cache shared by every caller, asks the remote for
// the ref's head before fetching (no fetch when it is already cached), and
// joins concurrent requests for the same repository and ref into one fetch.
// Checkouts are written through a rooted filesystem: no submodules, and a
// symlink whose target leaves the checkout fails the checkout.
//
// Only https:// and ssh:// URLs are accepted, never with credentials in the
// URL. Credentials are plain byte slices; they never appear in errors.
// Errors are *Error values matching the sentinels of this package with
// errors.Is (ErrSourceUnavailable, ErrRevisionNotFound, ...).
//
// Revisions are formatted as Flux does: "main@sha1:<hash>" for a branch,
// "v1.2.0@sha1:<hash>" for a tag or a semver range, "sha1:<hash>" for a
// pinned commit.
package source
