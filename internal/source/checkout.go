package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// checkout writes the tree of s.commit into dir from the cache entry.
func (c *Client) checkout(ctx context.Context, r *request, s synced, dir string) (res Result, err error) {
	e := c.cache.acquire(r.key)
	defer c.cache.release(e)
	e.mu.RLock()
	defer e.mu.RUnlock()
	// go-git may panic on a damaged pack; that is a corrupt cache, not a crash.
	defer func() {
		if p := recover(); p != nil {
			err = corrupt(fmt.Errorf("panic reading the cache: %v", p))
		}
	}()
	if e.gen != s.gen {
		return Result{}, corrupt(errors.New("cache entry was discarded during the checkout"))
	}
	sto, err := openStorage(e.dir, c.opts.ObjectCacheBytes)
	if err != nil {
		return Result{}, corrupt(err)
	}
	defer sto.Close() //nolint:errcheck // closes pack files that were only read
	tree, err := commitTree(sto, s.commit)
	if err != nil {
		return Result{}, corrupt(err)
	}
	res = Result{Revision: revision(s.t.name, s.commit), Commit: s.commit.String(),
		RefName: s.t.name, Fetched: s.fetched, target: s.t}
	if r.Path != "" {
		if res.PathHash, err = pathHash(tree, r.Path); err != nil {
			return Result{}, err
		}
	}
	w := &writer{ctx: ctx, sto: sto, fs: osfs.New(dir, osfs.WithBoundOS()),
		filesLeft: c.opts.MaxCheckoutFiles, bytesLeft: c.opts.MaxCheckoutBytes}
	return res, w.write(tree)
}

func commitTree(sto storer.EncodedObjectStorer, h plumbing.Hash) (*object.Tree, error) {
	commit, err := object.GetCommit(sto, h)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", h, err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("tree of commit %s: %w", h, err)
	}
	return tree, nil
}

// node is one entry of the flattened tree.
type node struct {
	path string
	mode filemode.FileMode
	hash plumbing.Hash
}

// writer writes a tree through a rooted filesystem, within its budgets.
type writer struct {
	ctx       context.Context
	sto       storer.EncodedObjectStorer
	fs        billy.Filesystem
	filesLeft int
	bytesLeft int64
	nodes     []node
	links     map[string]string
}

// write flattens the tree, proves every symlink stays inside, then writes
// directories, files and finally symlinks, so no file is written through a
// link. Submodules are skipped: they are never fetched.
func (w *writer) write(tree *object.Tree) error {
	w.links = map[string]string{}
	if err := w.collect(tree, ""); err != nil {
		return err
	}
	names := make([]string, 0, len(w.links))
	for link := range w.links {
		names = append(names, link)
	}
	sort.Strings(names)
	for _, link := range names {
		if err := insideRoot(w.links, link); err != nil {
			return withKind(ErrSymlinkOutOfBounds, fmt.Errorf("%s -> %s: %w", link, w.links[link], err))
		}
	}
	for i, n := range w.nodes {
		if i%256 == 0 && w.ctx.Err() != nil {
			return w.ctx.Err()
		}
		if err := w.writeNode(n); err != nil {
			return err
		}
	}
	for link, target := range w.links {
		if err := w.fs.Symlink(target, link); err != nil {
			return fmt.Errorf("write symlink %s: %w", link, err)
		}
	}
	return nil
}

// collect appends the entries of tree (at prefix) to w.nodes, reading
// symlink targets, and refuses entry names that could leave the checkout.
func (w *writer) collect(tree *object.Tree, prefix string) error {
	for _, te := range tree.Entries {
		if err := safeName(te.Name); err != nil {
			return withKind(ErrPathOutOfBounds, fmt.Errorf("tree entry %q in %q: %w", te.Name, prefix, err))
		}
		p := path.Join(prefix, te.Name)
		if te.Mode == filemode.Submodule {
			continue
		}
		if w.filesLeft--; w.filesLeft < 0 {
			return withKind(ErrLimitExceeded, errors.New("checkout has more entries than the file limit"))
		}
		switch te.Mode {
		case filemode.Dir:
			w.nodes = append(w.nodes, node{path: p, mode: te.Mode, hash: te.Hash})
			sub, err := object.GetTree(w.sto, te.Hash)
			if err != nil {
				return corrupt(fmt.Errorf("tree %s: %w", p, err))
			}
			if err := w.collect(sub, p); err != nil {
				return err
			}
		case filemode.Symlink:
			target, err := w.readLink(te.Hash)
			if err != nil {
				return corrupt(fmt.Errorf("symlink %s: %w", p, err))
			}
			w.links[p] = target
		default:
			w.nodes = append(w.nodes, node{path: p, mode: te.Mode, hash: te.Hash})
		}
	}
	return nil
}

// maxLinkTarget bounds a symlink target; the kernel's own limit is 4095.
const maxLinkTarget = 4096

func (w *writer) readLink(h plumbing.Hash) (string, error) {
	blob, err := object.GetBlob(w.sto, h)
	if err != nil {
		return "", err
	}
	if blob.Size > maxLinkTarget {
		return "", errors.New("symlink target too long")
	}
	rd, err := blob.Reader()
	if err != nil {
		return "", err
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	return string(b), err
}

func safeName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return errors.New("reserved name")
	case strings.ContainsAny(name, "/\\\x00"):
		return errors.New("separator in name")
	case strings.EqualFold(name, ".git"):
		return errors.New(".git is reserved")
	}
	return nil
}

func (w *writer) writeNode(n node) error {
	if n.mode == filemode.Dir {
		if err := w.fs.MkdirAll(n.path, 0o755); err != nil {
			return fmt.Errorf("write directory %s: %w", n.path, err)
		}
		return nil
	}
	blob, err := object.GetBlob(w.sto, n.hash)
	if err != nil {
		return corrupt(fmt.Errorf("file %s: %w", n.path, err))
	}
	if w.bytesLeft -= blob.Size; w.bytesLeft < 0 {
		return withKind(ErrLimitExceeded, errors.New("checkout is larger than the byte limit"))
	}
	perm := os.FileMode(0o644)
	if n.mode == filemode.Executable {
		perm = 0o755
	}
	f, err := w.fs.OpenFile(n.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("write file %s: %w", n.path, err)
	}
	rd, err := blob.Reader()
	if err != nil {
		_ = f.Close()
		return corrupt(fmt.Errorf("file %s: %w", n.path, err))
	}
	src := &readErrTracker{r: rd}
	written, err := io.Copy(f, src)
	if err == nil && src.err == nil && written != blob.Size {
		src.err = fmt.Errorf("read %d of %d bytes", written, blob.Size)
	}
	_ = rd.Close()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if src.err != nil {
		return corrupt(fmt.Errorf("file %s: %w", n.path, src.err))
	}
	if err != nil {
		return fmt.Errorf("write file %s: %w", n.path, err)
	}
	return nil
}

// readErrTracker remembers read errors, to tell a damaged cache from a
// failed write.
type readErrTracker struct {
	r   io.Reader
	err error
}

// Read reads from the blob and remembers a failure.
func (t *readErrTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}
