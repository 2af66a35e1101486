package source

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gogitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
)

// Credentials authenticate to the Git server. The controller fills them from
// a Secret; each field is named after the Secret key it comes from. Fields
// of the other transport are ignored (ssh fields for https:// and back).
type Credentials struct {
	// Username and Password are HTTPS basic auth (key "username", "password").
	Username, Password []byte
	// BearerToken is sent as "Authorization: Bearer" over HTTPS
	// (key "bearerToken"); it excludes Password.
	BearerToken []byte
	// CAFile is a PEM bundle trusted for HTTPS on top of the system roots
	// (key "caFile").
	CAFile []byte
	// Identity is the SSH private key in PEM (key "identity").
	Identity []byte
	// Passphrase decrypts Identity when it is encrypted (key "passphrase").
	Passphrase []byte
	// KnownHosts is the known_hosts content the SSH server's key must match
	// (key "known_hosts"). Required for ssh:// URLs.
	KnownHosts []byte
}

// Equal reports whether c and o hold the same values.
func (c Credentials) Equal(o Credentials) bool {
	return bytes.Equal(c.Username, o.Username) && bytes.Equal(c.Password, o.Password) &&
		bytes.Equal(c.BearerToken, o.BearerToken) && bytes.Equal(c.CAFile, o.CAFile) &&
		bytes.Equal(c.Identity, o.Identity) && bytes.Equal(c.Passphrase, o.Passphrase) &&
		bytes.Equal(c.KnownHosts, o.KnownHosts)
}

// fingerprint is a digest of every field, used (keyed with the cache's salt)
// to tell cache entries apart; it is never stored or printed as is.
func (c Credentials) fingerprint() []byte {
	h := sha256.New()
	for _, f := range [][]byte{c.Username, c.Password, c.BearerToken, c.CAFile,
		c.Identity, c.Passphrase, c.KnownHosts} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write(f)
	}
	return h.Sum(nil)
}

// access is what go-git needs to talk to one endpoint.
type access struct {
	auth     transport.AuthMethod
	caBundle []byte
}

func (c Credentials) access(e endpoint) (access, error) {
	if e.ssh {
		auth, err := c.sshAuth(e)
		return access{auth: auth}, err
	}
	var a access
	if len(c.CAFile) > 0 {
		if err := validPEM(c.CAFile); err != nil {
			return access{}, err
		}
		a.caBundle = c.CAFile
	}
	switch {
	case len(c.BearerToken) > 0 && len(c.Password) > 0:
		return access{}, errors.New("credentials hold both a bearer token and a password")
	case len(c.BearerToken) > 0:
		a.auth = &githttp.TokenAuth{Token: string(c.BearerToken)}
	case len(c.Username) > 0 || len(c.Password) > 0:
		a.auth = &githttp.BasicAuth{Username: string(c.Username), Password: string(c.Password)}
	}
	return a, nil
}

func validPEM(bundle []byte) error {
	block, _ := pem.Decode(bundle)
	if block == nil {
		return errors.New("caFile holds no PEM block")
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return errors.New("caFile: first PEM block is not a certificate")
	}
	return nil
}

// sshAuth builds a public-key auth that accepts only the host keys of
// known_hosts for the URL's host.
func (c Credentials) sshAuth(e endpoint) (*sshAuth, error) {
	if len(c.Identity) == 0 {
		return nil, errors.New("ssh url needs an identity (private key)")
	}
	if len(c.KnownHosts) == 0 {
		return nil, errors.New("ssh url needs known_hosts: host keys are always verified")
	}
	var signer ssh.Signer
	var err error
	if len(c.Passphrase) > 0 {
		signer, err = ssh.ParsePrivateKeyWithPassphrase(c.Identity, c.Passphrase)
	} else {
		signer, err = ssh.ParsePrivateKey(c.Identity)
	}
	if err != nil {
		// x/crypto's messages name the problem, never the key material.
		return nil, fmt.Errorf("identity: %w", err)
	}
	db, err := parseKnownHosts(c.KnownHosts)
	if err != nil {
		return nil, err
	}
	addr, err := sshAddr(e.url)
	if err != nil {
		return nil, err
	}
	return &sshAuth{user: e.sshUser, signer: signer, db: db, algorithms: db.HostKeyAlgorithms(addr)}, nil
}

// parseKnownHosts loads known_hosts content. The knownhosts package reads
// files only; known_hosts holds public keys, so a short-lived file is fine.
func parseKnownHosts(content []byte) (*knownhosts.HostKeyDB, error) {
	f, err := os.CreateTemp("", "driftless-known-hosts-")
	if err != nil {
		return nil, fmt.Errorf("known_hosts: %w", err)
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(content)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("known_hosts: %w", werr)
	}
	db, err := knownhosts.NewDB(f.Name())
	if err != nil {
		return nil, errors.New("known_hosts does not parse")
	}
	return db, nil
}

func sshAddr(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("url does not parse")
	}
	port := u.Port()
	if port == "" {
		port = "22"
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// sshAuth implements go-git's ssh.AuthMethod with a strict host key check.
type sshAuth struct {
	user       string
	signer     ssh.Signer
	db         *knownhosts.HostKeyDB
	algorithms []string
}

// sshDialTimeout bounds the TCP connect; go-git dials without the context.
const sshDialTimeout = 30 * time.Second

// Name is go-git's name for public key auth.
func (a *sshAuth) Name() string { return "ssh-public-keys" }

// String names the user and the method, never the key.
func (a *sshAuth) String() string { return "user: " + a.user + ", name: ssh-public-keys" }

// ClientConfig returns the SSH client configuration go-git dials with.
func (a *sshAuth) ClientConfig() (*ssh.ClientConfig, error) {
	return &ssh.ClientConfig{
		User:              a.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(a.signer)},
		HostKeyCallback:   a.checkHostKey,
		HostKeyAlgorithms: a.algorithms,
		Timeout:           sshDialTimeout,
	}, nil
}

// checkHostKey refuses a host missing from known_hosts and a host whose key
// changed, with a reason a person can act on.
func (a *sshAuth) checkHostKey(hostname string, remote net.Addr, key ssh.PublicKey) error {
	err := a.db.HostKeyCallback()(hostname, remote, key)
	switch {
	case err == nil:
		return nil
	case knownhosts.IsHostKeyChanged(err):
		return fmt.Errorf("%w: %s presented %s key %s", ErrHostKeyChanged, hostname,
			key.Type(), ssh.FingerprintSHA256(key))
	case knownhosts.IsHostUnknown(err):
		return fmt.Errorf("%w: %s presented %s key %s", ErrUnknownHostKey, hostname,
			key.Type(), ssh.FingerprintSHA256(key))
	}
	return fmt.Errorf("host key check: %w", err)
}

var _ gogitssh.AuthMethod = (*sshAuth)(nil)
