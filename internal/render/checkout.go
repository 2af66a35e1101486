package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
)

// maxLinks is how many symbolic links one name may go through, as Linux's
// ELOOP limit.
const maxLinks = 40

// checkout is the confined, read-only view of Options.Root that every engine
// reads through. Names are slash-separated and relative to the root. Each
// name is resolved one component at a time with its symbolic links, and any
// name, link or ".." that leads outside the root is refused and remembered as
// the render's violation, even when an engine swallows the error. Reads are
// counted against Limits.MaxBytes, and YAML read for an engine is bounded.
// When recording, every answer is kept so a Cache can later prove the same
// reads give the same answers.
type checkout struct {
	root      *os.Root
	ctx       context.Context
	limits    Limits
	checkYAML bool

	// plaintext holds decrypted contents, by real path, served in place of
	// the files on disk (see Decryption).
	plaintext map[string][]byte

	mu        sync.Mutex
	read      int64
	violation *Error
	deps      map[dep]string  // nil when not recording
	suspects  map[string]bool // real paths read that may be SOPS files
}

// dep is one question asked of the checkout.
type dep struct {
	op   string
	name string
}

// openCheckout opens dir as a checkout. A missing dir is PathInvalid.
func openCheckout(ctx context.Context, dir string, limits Limits) (*checkout, error) {
	if dir == "" {
		return nil, failf(PathInvalid, "", 0, "checkout root is not set")
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, failf(PathInvalid, "", 0, "checkout root: %w", err)
	}
	return &checkout{root: root, ctx: ctx, limits: limits, suspects: map[string]bool{}}, nil
}

// Close releases the checkout's root directory.
func (c *checkout) Close() { _ = c.root.Close() } // read-only: nothing to flush

// Violation returns the first out-of-bounds access or exceeded limit seen.
func (c *checkout) Violation() *Error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.violation
}

// fail records e as the violation unless one is already recorded; returns e.
func (c *checkout) fail(e *Error) *Error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.violation == nil {
		c.violation = e
	}
	return e
}

// record keeps the answer to one question when recording.
func (c *checkout) record(op, name, answer string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deps != nil {
		c.deps[dep{op, name}] = answer
	}
}

// Resolve returns name with every symbolic link resolved: a clean,
// slash-separated path relative to the root, "." for the root itself. A name
// that does not exist resolves as far as it exists and keeps the rest as is.
func (c *checkout) Resolve(name string) (string, error) {
	real, err := c.resolve(name)
	c.record("resolve", name, answerResolve(real, err))
	return real, err
}

func (c *checkout) resolve(name string) (string, error) {
	if err := c.ctx.Err(); err != nil {
		return "", err
	}
	clean := path.Clean(name)
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", c.fail(failf(PathOutOfBounds, name, 0, "path is outside the checkout"))
	}
	var done []string
	todo := splitPath(clean)
	// via names the last link followed, the one to blame for an escape.
	via := name
	escape := func() error {
		if via == name {
			return c.fail(failf(SymlinkOutOfBounds, name, 0, "symbolic link resolves outside the checkout"))
		}
		return c.fail(failf(SymlinkOutOfBounds, name, 0, "symbolic link %s resolves outside the checkout", via))
	}
	for links := 0; len(todo) > 0; {
		part := todo[0]
		todo = todo[1:]
		if part == ".." {
			if len(done) == 0 {
				return "", escape()
			}
			done = done[:len(done)-1]
			continue
		}
		cur := path.Join(append(done, part)...)
		fi, err := c.root.Lstat(cur)
		if err != nil {
			// The rest does not exist: resolve it lexically, still inside.
			rest := path.Join(append(append(done, part), todo...)...)
			if rest == ".." || strings.HasPrefix(rest, "../") {
				return "", escape()
			}
			return rest, nil
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, part)
			continue
		}
		if links++; links > maxLinks {
			return "", fmt.Errorf("%s: too many levels of symbolic links", name)
		}
		target, err := c.link(cur)
		if err != nil {
			return "", err
		}
		via = cur
		todo = append(target, todo...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
}

// link returns the components of the target of symbolic link cur, refusing
// an absolute one: the checkout cannot know where it is mounted.
func (c *checkout) link(cur string) ([]string, error) {
	target, err := c.root.Readlink(cur)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cur, unwrapPathError(err))
	}
	if path.IsAbs(target) {
		return nil, c.fail(failf(SymlinkOutOfBounds, cur, 0, "symbolic link to an absolute path"))
	}
	return splitPath(target), nil
}

// splitPath splits a clean relative path into its components.
func splitPath(p string) []string {
	var parts []string
	for _, s := range strings.Split(p, "/") {
		if s != "" && s != "." {
			parts = append(parts, s)
		}
	}
	return parts
}

// Stat returns the file information of name, following symbolic links.
func (c *checkout) Stat(name string) (fs.FileInfo, error) {
	fi, err := c.stat(name)
	c.record("stat", name, answerStat(fi, err))
	return fi, err
}

func (c *checkout) stat(name string) (fs.FileInfo, error) {
	real, err := c.resolve(name)
	if err != nil {
		return nil, err
	}
	fi, err := c.root.Stat(real)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: unwrapPathError(err)}
	}
	return fi, nil
}

// ReadDir returns the entries of directory name, sorted by name.
func (c *checkout) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := c.readDir(name)
	c.record("readdir", name, answerReadDir(entries, err))
	return entries, err
}

func (c *checkout) readDir(name string) ([]fs.DirEntry, error) {
	real, err := c.resolve(name)
	if err != nil {
		return nil, err
	}
	f, err := c.root.Open(real)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: unwrapPathError(err)}
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: unwrapPathError(err)}
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, nil
}

// ReadFile returns the contents of the regular file name, or its plaintext
// when the render was given one. The bytes count against Limits.MaxBytes,
// and YAML is bounded when the checkout checks it. A file that names SOPS
// and has no plaintext yet is remembered as a suspect (see Decryption); the
// answer recorded is always the file on disk, so a Cache compares what Git
// holds.
func (c *checkout) ReadFile(name string) ([]byte, error) {
	real, data, err := c.readFile(name)
	c.record("read", name, answerRead(data, err))
	if err != nil {
		return nil, err
	}
	plain, ok := c.plaintext[real]
	if !ok {
		if bytes.Contains(data, sopsWord) {
			c.mu.Lock()
			c.suspects[real] = true
			c.mu.Unlock()
		}
		return data, nil
	}
	if err := c.checkedYAML(name, plain); err != nil {
		return nil, err
	}
	return plain, nil
}

// sopsWord is in every SOPS file, whatever its format.
var sopsWord = []byte("sops")

// Suspects returns, sorted, the real paths of the files read that may be
// SOPS files and were read from disk.
func (c *checkout) Suspects() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(maps.Keys(c.suspects))
}

// readFile reads name from disk: its real path and contents.
func (c *checkout) readFile(name string) (string, []byte, error) {
	real, data, err := c.readDisk(name)
	if err == nil {
		err = c.checkedYAML(name, data)
	}
	if err != nil {
		return "", nil, err
	}
	return real, data, nil
}

func (c *checkout) readDisk(name string) (string, []byte, error) {
	real, err := c.resolve(name)
	if err != nil {
		return "", nil, err
	}
	// Opening a FIFO or device would block or never end: check before opening.
	fi, err := c.root.Lstat(real)
	if err != nil {
		return "", nil, &fs.PathError{Op: "stat", Path: name, Err: unwrapPathError(err)}
	}
	if !fi.Mode().IsRegular() {
		return "", nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("not a regular file")}
	}
	if err := c.spend(name, fi.Size()); err != nil {
		return "", nil, err
	}
	f, err := c.root.Open(real)
	if err != nil {
		return "", nil, &fs.PathError{Op: "open", Path: name, Err: unwrapPathError(err)}
	}
	defer f.Close()
	// A file that grows between stat and read must not get past the budget.
	data, err := io.ReadAll(io.LimitReader(f, fi.Size()+1))
	if err != nil {
		return "", nil, &fs.PathError{Op: "read", Path: name, Err: unwrapPathError(err)}
	}
	if int64(len(data)) > fi.Size() {
		return "", nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("file changed while read")}
	}
	return real, data, nil
}

// checkedYAML bounds data when the checkout checks YAML. Only an anchor lets
// YAML expand past its size (engines cap nesting at 10,000 levels
// themselves; rendered objects are bounded again).
func (c *checkout) checkedYAML(name string, data []byte) error {
	if c.checkYAML && bytes.IndexByte(data, '&') >= 0 {
		if err := checkYAML(data, c.limits); err != nil && !isYAMLSyntax(err) {
			return c.fail(locate(err, name))
		}
	}
	return nil
}

// spend counts n more bytes read, failing once Limits.MaxBytes is passed.
func (c *checkout) spend(name string, n int64) error {
	c.mu.Lock()
	c.read += n
	over := c.read > c.limits.MaxBytes
	c.mu.Unlock()
	if over {
		return c.fail(failf(LimitExceeded, name, 0, "render reads more than %d bytes from the checkout", c.limits.MaxBytes))
	}
	return nil
}

// unwrapPathError drops the *PathError os.Root adds, so the caller's own
// carries the name relative to the checkout.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
