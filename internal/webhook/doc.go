// Package webhook receives push webhooks from Git hosts and turns each valid
// push into a callback naming the repository URLs and the ref that moved.
//
// A Handler serves POST <prefix><receiver-name> (by default /hook/<name>).
// Each receiver has a provider (GitHub, GitLab, Gitea/Forgejo or a generic
// HMAC sender) and a secret; the caller gives both as plain data. Answers:
// 200 for a push accepted, 202 for a valid event that is not a push, 401
// for a missing or wrong signature, 413 for a body over the limit, 400 for
// a malformed payload, 404 for an unknown receiver, 405 for another method.
//
// Bursts are coalesced per repository and ref: the first push calls back at
// once, later ones within the window are folded into one trailing call, so
// a thousand pushes in a second make a handful of callbacks and the last
// push is never lost.
//
// Mount the Handler on a server built by NewServer, or apply its timeouts.
package webhook
