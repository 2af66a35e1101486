package decrypt

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxSymlinkHops bounds how many symlinks one path may go through, as the kernel does.
const maxSymlinkHops = 40

// cleanRel checks that name is a relative path that stays inside the tree without following
// any symlink, and returns it cleaned and slash-separated ("." for the root).
func cleanRel(name string) (string, error) {
	slashed := filepath.ToSlash(name)
	if slashed == "" {
		return ".", nil
	}
	if path.IsAbs(slashed) || filepath.IsAbs(name) || filepath.VolumeName(name) != "" {
		return "", ErrPathOutOfBounds
	}
	clean := path.Clean(slashed)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", ErrPathOutOfBounds
	}
	return clean, nil
}

// resolve follows every symlink of rel inside root, component by component, and returns the
// real path relative to root with the Lstat of its last element. A symlink that is absolute or
// climbs above root is ErrSymlinkOutOfBounds: the tree is proven closed here, and os.Root
// enforces it again on every open.
func resolve(root *os.Root, rel string) (string, fs.FileInfo, error) {
	pending := splitRel(rel)
	var done []string
	var info fs.FileInfo
	for hops := 0; len(pending) > 0; {
		part := pending[0]
		pending = pending[1:]
		switch part {
		case ".":
			continue
		case "..":
			if len(done) == 0 {
				return "", nil, ErrSymlinkOutOfBounds
			}
			done = done[:len(done)-1]
			info = nil
			continue
		}
		cur := path.Join(append(done, part)...)
		fi, err := root.Lstat(cur)
		if err != nil {
			return "", nil, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, part)
			info = fi
			continue
		}
		// A symlink loop cannot be proven inside the tree: refuse it like an escape.
		if hops++; hops > maxSymlinkHops {
			return "", nil, ErrSymlinkOutOfBounds
		}
		target, err := root.Readlink(cur)
		if err != nil {
			return "", nil, err
		}
		if filepath.IsAbs(target) || path.IsAbs(filepath.ToSlash(target)) || filepath.VolumeName(target) != "" {
			return "", nil, ErrSymlinkOutOfBounds
		}
		pending = append(splitRel(filepath.ToSlash(target)), pending...)
	}
	final := "."
	if len(done) > 0 {
		final = path.Join(done...)
	}
	if info == nil {
		fi, err := root.Lstat(final)
		if err != nil {
			return "", nil, err
		}
		info = fi
	}
	return final, info, nil
}

// splitRel splits a slash-separated relative path into its elements.
func splitRel(rel string) []string {
	var parts []string
	for _, p := range strings.Split(rel, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return parts
}
