package source

import (
	"errors"
	"path"
	"strings"
)

// maxLinkHops matches the kernel's limit on symlinks followed in one lookup.
const maxLinkHops = 40

var (
	errEscapes = errors.New("resolves outside the checkout")
	errLoop    = errors.New("too many levels of symbolic links")
)

// insideRoot resolves p (slash-separated, relative to the checkout root)
// the way the kernel would, following the checkout's own symlinks (links
// maps link path to target), and fails when any step leaves the root. A
// lexical check is not enough: "a/b/s -> ../.." is inside, but "a/b/t ->
// s/../x" then points above the root.
func insideRoot(links map[string]string, p string) error {
	pending := strings.Split(p, "/")
	var resolved []string
	hops := 0
	for len(pending) > 0 {
		comp := pending[0]
		pending = pending[1:]
		switch comp {
		case "", ".":
			continue
		case "..":
			if len(resolved) == 0 {
				return errEscapes
			}
			resolved = resolved[:len(resolved)-1]
			continue
		}
		resolved = append(resolved, comp)
		target, ok := links[strings.Join(resolved, "/")]
		if !ok {
			continue
		}
		if hops++; hops > maxLinkHops {
			return errLoop
		}
		if path.IsAbs(target) {
			return errEscapes
		}
		resolved = resolved[:len(resolved)-1]
		pending = append(strings.Split(target, "/"), pending...)
	}
	return nil
}
