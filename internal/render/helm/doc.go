// Package helm renders a Helm chart of the checkout in-process with Helm's
// own library, as `helm template --include-crds --skip-tests` does, and
// returns the same YAML stream, byte for byte. It is the only package of the
// project that imports Helm, so moving to another major version of Helm
// changes this package alone.
//
// The chart, its subcharts in charts/ (directories or archives) and its
// values files are read only through the caller's confined [FS], honouring
// .helmignore as `helm` does; a chart the caller took from a repository
// comes as an archive ([Options.Chart]), checked before Helm opens it.
// Nothing is fetched and nothing runs: missing dependencies are an error (no
// `helm dependency update`), `lookup` returns nothing, `getHostByName`
// resolves nothing, and a values.schema.json may refer only to itself, never
// to a file or URL.
//
// Hooks are rendered as ordinary objects, after the chart's other objects,
// exactly as `helm template` prints them, except test hooks, which are
// skipped; [Options.DisableHooks] drops every hook. CRDs from crds/
// directories come first.
package helm
