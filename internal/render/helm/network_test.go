package helm

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestTemplatesReachNoNetwork is RELIABILITY S6: a chart calling lookup for
// a Secret of another namespace and getHostByName renders with empty
// results, and the resolver (pointed at a counting DNS stub on loopback)
// receives no query. The engine has no cluster client at all, so lookup
// cannot make an API request.
func TestTemplatesReachNoNetwork(t *testing.T) {
	stub, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stub.Close()
	var queries atomic.Int64
	go func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := stub.ReadFrom(buf); err != nil {
				return
			}
			queries.Add(1)
		}
	}()
	resolver := net.DefaultResolver
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", stub.LocalAddr().String())
	}}
	defer func() { net.DefaultResolver = resolver }()
	// The stub counts what a template would send.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := net.DefaultResolver.LookupHost(ctx, "probe.invalid"); err == nil {
		t.Fatal("the stub answered")
	}
	probes := queries.Load()
	if probes == 0 {
		t.Fatal("the counting stub saw no probe query: the test cannot see a template's")
	}

	dir := writeTree(t, minimalChart(map[string]string{
		"chart/templates/net.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: net
data:
  secret: {{ lookup "v1" "Secret" "kube-system" "admin-token" | toJson | quote }}
  host: {{ getHostByName "example.com" | quote }}
`,
	}))
	out, err := Template(t.Context(), openFS(t, dir), "chart", Options{ReleaseName: "app", Namespace: "tenant"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `secret: "{}"`) || !strings.Contains(string(out), `host: ""`) {
		t.Errorf("lookup and getHostByName gave something:\n%s", out)
	}
	if n := queries.Load() - probes; n != 0 {
		t.Errorf("%d DNS queries from the render, want none", n)
	}
}
