package helm

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
)

// docSeparator splits a template's output into documents, as
// releaseutil.SplitManifests does.
var docSeparator = regexp.MustCompile("(?:^|\\s*\n)---\\s*")

// partDocs is how many documents make it worth sorting on another processor.
const partDocs = 256

// sortManifests returns what releaseutil.SortManifests(files, nil,
// InstallOrder) returns, faster: Helm parses every document to find its
// kind and hook annotations, one after the other, which is most of the cost
// of a large chart. The documents are cut into contiguous parts, in the
// order Helm reads them, each part sorted by Helm on its own processor; the
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

// partition cuts the files' documents, in Helm's order (files by path,
// documents in order), into at most n parts of about the same size, each a
// set of files like the input: a file cut in two is in two parts under its
// own name. Fewer than partDocs documents make one part.
func partition(files map[string]string, n int) []map[string]string {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	type doc struct{ path, content string }
	var docs []doc
	for _, name := range names {
		content := files[name]
		// Helm skips partials and empty files.
		if strings.HasPrefix(baseName(name), "_") || strings.TrimSpace(content) == "" {
			continue
		}
		for _, d := range docSeparator.Split(strings.TrimSpace(content), -1) {
			if d != "" {
				docs = append(docs, doc{name, strings.TrimSpace(d)})
			}
		}
	}
	n = min(n, len(docs)/partDocs)
	if n <= 1 {
		return nil
	}
	parts := make([]map[string]string, n)
	for i := range parts {
		parts[i] = map[string]string{}
		lo, hi := i*len(docs)/n, (i+1)*len(docs)/n
		var bodies []string
		for j := lo; j < hi; j++ {
			bodies = append(bodies, docs[j].content)
			if j+1 == hi || docs[j+1].path != docs[j].path {
				parts[i][docs[j].path] = strings.Join(bodies, "\n---\n")
				bodies = nil
			}
		}
	}
	return parts
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
