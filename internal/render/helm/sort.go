package helm

import (
	"slices"
	"sort"
	"strings"
	"sync"

	helmrelease "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
)

// partBytes is how many bytes of YAML make it worth sorting on another
// processor.
const partBytes = 64 << 10

// sortManifests returns what releaseutil.SortManifests(files, nil,
// InstallOrder) returns, faster: Helm parses every document to find its
// kind and hook annotations, one after the other, which is most of the cost
// of a large chart. The files are cut into contiguous parts, between
// documents, in the order Helm reads them, each part sorted by Helm on its
// own processor; the
// parts' results, concatenated in order and sorted again (stably) by kind,
// are exactly the sequential result. procs is how many parts at most.
func sortManifests(files map[string]string, procs int) ([]*helmrelease.Hook, []releaseutil.Manifest, error) {
	parts := partition(files, procs)
	if len(parts) <= 1 {
		return releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	}
	type result struct {
		hooks     []*helmrelease.Hook
		manifests []releaseutil.Manifest
		err       error
	}
	results := make([]result, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[i]
			r.hooks, r.manifests, r.err = releaseutil.SortManifests(p, nil, releaseutil.InstallOrder)
		}()
	}
	wg.Wait()
	var hooks []*helmrelease.Hook
	var manifests []releaseutil.Manifest
	for _, r := range results {
		if r.err != nil {
			return nil, nil, r.err
		}
		hooks = append(hooks, r.hooks...)
		manifests = append(manifests, r.manifests...)
	}
	slices.SortStableFunc(hooks, func(a, b *helmrelease.Hook) int { return compareKinds(a.Kind, b.Kind) })
	slices.SortStableFunc(manifests, func(a, b releaseutil.Manifest) int { return compareKinds(a.Head.Kind, b.Head.Kind) })
	return hooks, manifests, nil
}

// partition cuts the files' contents, in Helm's order (files by path), into
// at most n parts of about the same size, each a set of files like the
// input: a file cut in two is in two parts under its own name. Less than
// partBytes of YAML makes one part.
func partition(files map[string]string, n int) []map[string]string {
	names := make([]string, 0, len(files))
	total := 0
	for name, content := range files {
		// Helm skips partials.
		if !strings.HasPrefix(baseName(name), "_") {
			names = append(names, name)
			total += len(content)
		}
	}
	n = min(n, total/partBytes)
	if n <= 1 {
		return nil
	}
	sort.Strings(names)
	parts := []map[string]string{{}}
	size := 0
	for _, name := range names {
		content := files[name]
		for len(parts) < n {
			cut := cutAt(content, len(parts)*total/n-size)
			if cut < 0 {
				break
			}
			parts[len(parts)-1][name] = content[:cut]
			parts = append(parts, map[string]string{})
			size += cut
			content = content[cut:]
		}
		parts[len(parts)-1][name] = content
		size += len(content)
	}
	return parts
}

// cutAt returns the first place at or after offset where content can be cut
// in two without changing the documents Helm splits it into, -1 if none:
// the start of a line that starts with "---", which Helm 4 takes for a
// separator whatever precedes it (the "\n" before stays with the document
// it ends).
func cutAt(content string, offset int) int {
	offset = max(offset, 1)
	if offset >= len(content) {
		return -1
	}
	i := strings.Index(content[offset-1:], "\n---")
	if i < 0 {
		return -1
	}
	return offset + i
}

func baseName(p string) string { return p[strings.LastIndex(p, "/")+1:] }

// installRank is the position of each kind in Helm's install order.
var installRank = func() map[string]int {
	m := make(map[string]int, len(releaseutil.InstallOrder))
	for i, k := range releaseutil.InstallOrder {
		m[k] = i
	}
	return m
}()

// compareKinds orders kinds as Helm's install order does: known kinds by
// their position, then unknown kinds by name.
func compareKinds(a, b string) int {
	ra, aok := installRank[a]
	rb, bok := installRank[b]
	switch {
	case aok && bok:
		return ra - rb
	case aok:
		return -1
	case bok:
		return 1
	default:
		return strings.Compare(a, b)
	}
}
