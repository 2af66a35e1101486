// Package chartrepo resolves and downloads Helm charts from chart
// repositories: HTTPS Helm repositories (an index.yaml) and OCI registries
// (oci://).
//
// [Client.Resolve] asks the repository which version a [Source] selects now,
// as Helm selects it, from index.yaml or from the registry's tags: an exact
// version first, else the newest the semver constraint allows, stable
// versions only unless the constraint names a prerelease. [Client.Fetch] returns the archive of
// a resolved version, downloaded at most once per version by all callers
// together (one download in flight, then an on-disk cache keyed by digest),
// its digest verified.
//
// Access goes only to the URLs the spec names: an index.yaml may point at
// charts on the repository's own scheme and host only, redirects stay on that
// host, and credentials are sent to that host only. Every download is bounded
// ([Options.MaxIndexBytes], [Options.MaxChartBytes]) and every call is bounded
// in time ([Options.Timeout]). Errors name the repository, chart and version,
// never credentials; repository URLs are shown without user information or
// query.
package chartrepo
