// Package render turns a directory of a Git checkout into the Kubernetes
// objects it describes, sorted in the order they must be applied.
//
// One verb does the work: [Render]. It picks the engine (kustomize, Helm or a
// plain directory of YAML, see [Detect]), runs it in-process, parses and
// validates what it produced, gives namespaced objects that name no namespace
// the target namespace, and sorts the result (see [Sort]).
//
// Every file an engine reads goes through one confined, read-only view of the
// checkout: a name is resolved one component at a time, symbolic links
// included, and anything that resolves outside [Options.Root] is refused
// ([PathOutOfBounds], [SymlinkOutOfBounds]). Rendering runs nothing and fetches
// nothing: no remote kustomize bases, no plugins, no Helm `lookup`, no DNS.
// Every input is bounded by [Limits], and a panic inside an engine fails that
// render only.
//
// A [Cache] remembers each render with the exact set of checkout reads it
// made, so the same inputs are never rendered twice, while a commit that
// changes another path of the repository does not invalidate it.
//
// Failures are [*Error] values whose [Reason] the controller maps to a
// condition reason; messages name the file, relative to the checkout root,
// and its line where the engine tells it.
package render
