// Package gittest starts real Git servers for tests: `git http-backend` behind
// an HTTPS test server with basic or bearer auth, and an SSH server that runs
// `git upload-pack` for each session. Repositories are bare directories under
// a root shared by both servers; commits are made with the git CLI.
//
// It is a test-only helper: every constructor takes a testing.TB and
// registers its own cleanup.
package gittest
