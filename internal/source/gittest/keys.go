package gittest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// NewKey generates an ed25519 key and returns its signer and its private key
// in OpenSSH PEM form, encrypted with passphrase when it is not empty.
func NewKey(t testing.TB, passphrase string) (ssh.Signer, []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase != "" {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "gittest", []byte(passphrase))
	} else {
		block, err = ssh.MarshalPrivateKey(priv, "gittest")
	}
	if err != nil {
		t.Fatal(err)
	}
	return signer, pem.EncodeToMemory(block)
}

// KnownHostsLine returns a known_hosts line binding key to addr (host:port).
func KnownHostsLine(addr string, key ssh.PublicKey) []byte {
	return []byte(knownhosts.Line([]string{addr}, key) + "\n")
}
