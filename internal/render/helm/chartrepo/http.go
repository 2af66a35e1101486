package chartrepo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// maxRedirects is what net/http allows by default.
const maxRedirects = 10

// transport returns an HTTP transport that trusts the system's certificates
// and the credentials' CA. The caller closes its idle connections when done.
func transport(creds Credentials) (*http.Transport, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if len(creds.CA) > 0 && !pool.AppendCertsFromPEM(creds.CA) {
		return nil, errors.New("CA holds no PEM certificate")
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t, nil
}

// httpClient returns a client for one HTTPS repository: redirects are
// followed only on the repository's scheme and host.
func httpClient(repo *url.URL, t http.RoundTripper) *http.Client {
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			if !sameOrigin(req.URL, repo) {
				return fmt.Errorf("redirect to %s refused: repository access only to the URLs the spec names", display(req.URL))
			}
			return nil
		},
	}
}

// get downloads u, at most limit bytes; bound names the bound in errors.
// Basic authentication is sent when configured: u is always on the
// repository's host, and so is every redirect.
func get(ctx context.Context, client *http.Client, u *url.URL, creds Credentials, limit int64, bound string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", display(u), err)
	}
	if creds.basicAuth() {
		req.SetBasicAuth(string(creds.Username), string(creds.Password))
	}
	resp, err := client.Do(req)
	if err != nil {
		// A *url.Error quotes the URL with its query: show ours instead.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("GET %s: %w", display(u), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", display(u), resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("GET %s: %w: %d bytes, %s is %d", display(u), ErrTooLarge, resp.ContentLength, bound, limit)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", display(u), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("GET %s: %w: %s is %d", display(u), ErrTooLarge, bound, limit)
	}
	return data, nil
}
