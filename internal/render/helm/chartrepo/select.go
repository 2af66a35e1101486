package chartrepo

import (
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// tagVersions returns the chart versions that OCI tags hold, newest first,
// as Helm's registry client lists them: "+" is stored as "_" in a tag, and
// a tag that is not a strict semantic version is no chart version.
func tagVersions(tags []string) []string {
	var versions []*semver.Version
	for _, tag := range tags {
		if v, err := semver.StrictNewVersion(strings.ReplaceAll(tag, "_", "+")); err == nil {
			versions = append(versions, v)
		}
	}
	sort.Sort(sort.Reverse(semver.Collection(versions)))
	out := make([]string, len(versions))
	for i, v := range versions {
		out[i] = v.String()
	}
	return out
}

// selectVersion picks from versions (newest first) what version selects, as
// Helm's registry.GetTagMatchingVersionOrConstraint does: an exact match
// first, else the newest version the constraint allows ("" allows all);
// a constraint without a prerelease allows stable versions only.
func selectVersion(versions []string, version string) (string, error) {
	constraint := "*"
	if version != "" {
		for _, v := range versions {
			if v == version {
				return v, nil
			}
		}
		constraint = version
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return "", fmt.Errorf("version constraint %q: %w", version, err)
	}
	for _, v := range versions {
		if sv, err := semver.NewVersion(v); err == nil && c.Check(sv) {
			return v, nil
		}
	}
	if len(versions) == 0 {
		return "", fmt.Errorf("%w: no tag is a chart version, so none matches %q", ErrNoVersion, version)
	}
	return "", fmt.Errorf("%w %q (newest of %d: %s)", ErrNoVersion, version, len(versions), versions[0])
}

// isExactVersion reports whether Helm pulls version from a registry as a tag
// without listing tags: when it parses as a version, even a loose one such
// as "1.2".
func isExactVersion(version string) bool {
	_, err := semver.NewVersion(version)
	return err == nil
}

// tagOf is the tag that holds a chart version.
func tagOf(version string) string {
	return strings.ReplaceAll(version, "+", "_")
}
