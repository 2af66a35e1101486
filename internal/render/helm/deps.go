package helm

import (
	"fmt"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	chart "helm.sh/helm/v4/pkg/chart/v2"
)

// Dependency is a dependency of a chart that a chart repository holds,
// that the chart's Chart.lock pins to a version, and that its charts/ does
// not hold: what `helm dependency build` would download.
type Dependency struct {
	Name       string
	Version    string // as Chart.lock pins it
	Repository string // as Chart.yaml and Chart.lock name it
}

// Archive is the archive of a Dependency, which the caller downloaded: it
// is rendered as if it were in the chart's charts/.
type Archive struct {
	Name    string
	Version string
	Data    []byte
}

// NeedsDependencies is the error of a chart that needs Dependencies that
// Options.Dependencies does not give: nothing is ever downloaded here.
type NeedsDependencies struct {
	Dependencies []Dependency
}

func (e *NeedsDependencies) Error() string {
	names := make([]string, len(e.Dependencies))
	for i, d := range e.Dependencies {
		names[i] = d.Name + " " + d.Version + " from " + d.Repository
	}
	return "found in Chart.lock, but missing in charts/ directory: " + strings.Join(names, ", ") + " (dependencies are never downloaded)"
}

// lockedDependencies lists the dependencies of chrt that a repository
// (https:// or oci://) holds and its charts/ does not, at the versions its
// Chart.lock pins. A dependency without a Chart.lock, or whose lock entry
// names another repository or a version its constraint does not allow, is
// an error: Chart.lock is out of sync with Chart.yaml, and `helm dependency
// build` would refuse it too.
func lockedDependencies(chrt *chart.Chart) ([]Dependency, error) {
	var out []Dependency
	for _, dep := range chrt.Metadata.Dependencies {
		if !fromRepository(dep.Repository) || slices.ContainsFunc(chrt.Dependencies(), func(c *chart.Chart) bool { return c.Name() == dep.Name }) {
			continue
		}
		if chrt.Lock == nil {
			return nil, fmt.Errorf("dependency %s from %s: no Chart.lock pins its version (run helm dependency update and commit Chart.lock)", dep.Name, dep.Repository)
		}
		i := slices.IndexFunc(chrt.Lock.Dependencies, func(l *chart.Dependency) bool {
			return l.Name == dep.Name && strings.TrimSuffix(l.Repository, "/") == strings.TrimSuffix(dep.Repository, "/")
		})
		if i < 0 {
			return nil, fmt.Errorf("dependency %s from %s: Chart.lock is out of sync with Chart.yaml, it pins no version of it", dep.Name, dep.Repository)
		}
		locked := chrt.Lock.Dependencies[i].Version
		if dep.Version != "" {
			c, err := semver.NewConstraint(dep.Version)
			if err != nil {
				return nil, fmt.Errorf("dependency %s: version %q: %w", dep.Name, dep.Version, err)
			}
			v, err := semver.NewVersion(locked)
			if err != nil || !c.Check(v) {
				return nil, fmt.Errorf("dependency %s: Chart.lock is out of sync with Chart.yaml, it pins %s, which %q does not allow", dep.Name, locked, dep.Version)
			}
		}
		out = append(out, Dependency{Name: dep.Name, Version: locked, Repository: dep.Repository})
	}
	return out, nil
}

// fromRepository reports whether a dependency's repository is a chart
// repository to download from, not a chart beside this one (file://, or
// none: charts/ must hold it).
func fromRepository(repository string) bool {
	return strings.HasPrefix(repository, "https://") || strings.HasPrefix(repository, "http://") || strings.HasPrefix(repository, "oci://")
}
