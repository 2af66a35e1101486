package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/discovery"

	"github.com/driftless-dev/driftless/internal/render"
)

// capabilitiesTTL is how long the cluster's capabilities are reused by
// every render: a CRD installed, or a control plane upgraded, reaches
// Helm's .Capabilities within it.
const capabilitiesTTL = time.Minute

// clusterCapabilities is what Helm's .Capabilities says of the cluster,
// read from discovery as `helm install` reads it, at most once per
// capabilitiesTTL for all AppSources. The zero value (no discovery) is the
// offline default of `helm template`.
type clusterCapabilities struct {
	discovery discovery.DiscoveryInterface

	mu   sync.Mutex
	caps render.Capabilities
	key  string // names caps in the inputs' key
	read time.Time
}

// get returns the cluster's capabilities and a short name for them. When
// discovery fails, the last capabilities read are kept; without any, the
// error is returned.
func (c *clusterCapabilities) get() (render.Capabilities, string, error) {
	if c == nil || c.discovery == nil {
		return render.Capabilities{}, "offline", nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.read.IsZero() && time.Since(c.read) < capabilitiesTTL {
		return c.caps, c.key, nil
	}
	caps, err := readCapabilities(c.discovery)
	switch {
	case err == nil:
		h := sha256.Sum256([]byte(caps.KubeVersion + "\n" + strings.Join(caps.APIVersions, "\n")))
		c.caps, c.key, c.read = caps, hex.EncodeToString(h[:8]), time.Now()
	case c.read.IsZero():
		return render.Capabilities{}, "", err
	}
	return c.caps, c.key, nil
}

// readCapabilities reads the server's version and every group version and
// group/version/kind it serves, as Helm's action.GetVersionSet does. An
// aggregated API that does not answer leaves its groups out, as with Helm.
func readCapabilities(dc discovery.DiscoveryInterface) (render.Capabilities, error) {
	version, err := dc.ServerVersion()
	if err != nil {
		return render.Capabilities{}, fmt.Errorf("read the cluster's version for Helm's .Capabilities: %w", err)
	}
	groups, resources, err := dc.ServerGroupsAndResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return render.Capabilities{}, fmt.Errorf("read the cluster's API versions for Helm's .Capabilities: %w", err)
	}
	var versions []string
	for _, g := range groups {
		for _, gv := range g.Versions {
			versions = append(versions, gv.GroupVersion)
		}
	}
	for _, list := range resources {
		for _, res := range list.APIResources {
			versions = append(versions, path.Join(list.GroupVersion, res.Kind))
		}
	}
	slices.Sort(versions)
	return render.Capabilities{KubeVersion: version.GitVersion, APIVersions: slices.Compact(versions)}, nil
}
