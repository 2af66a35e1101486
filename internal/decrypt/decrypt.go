package decrypt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
)

// Result says what Tree did.
type Result struct {
	// Decrypted lists the files decrypted in place, in the order they were decrypted. Each
	// path is the real file (symlinks resolved), relative to the tree root, slash-separated.
	Decrypted []File
	// Examined is the number of regular files read to look for SOPS metadata.
	Examined int
}

// File is one file decrypted in place.
type File struct {
	// Path is the file relative to the tree root, slash-separated, symlinks resolved.
	Path string
	// Format is the SOPS format the file was decrypted as.
	Format Format
}

// Tree decrypts in place every SOPS-encrypted file reached from paths inside the tree at root.
//
// root is the checkout: the bound of every read and write, normally the reconcile's private
// temporary directory (mode 0700), which the caller creates and removes. Each of paths is
// relative to root: a directory is walked recursively (".git" directories are skipped,
// symlinked directories inside the tree are followed once), a file is examined alone. Pass the
// AppSource path and the files the render references outside it (Helm values files); with no
// paths the whole tree is walked. A path that does not exist is an error.
//
// A file is encrypted if it carries SOPS metadata, whatever its name (see Detect). Each
// encrypted file is decrypted with opts.Keys and opts.Sources, its MAC verified, and its
// plaintext written over it with mode 0600. Tree stops at the first failure and returns a
// *FileError naming the file; files decrypted before it stay decrypted, so on error the
// caller must discard the tree. A panic inside the SOPS library fails this call only.
func Tree(ctx context.Context, root string, opts Options, paths ...string) (Result, error) {
	d, err := NewDecrypter(opts)
	if err != nil {
		return Result{}, err
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return Result{}, fmt.Errorf("decrypt: open tree: %w", err)
	}
	defer r.Close()
	s := &session{
		ctx:       ctx,
		root:      r,
		fsys:      r.FS(),
		opts:      d.opts,
		decrypter: d,
		seenFiles: map[string]bool{},
		seenDirs:  map[string]bool{},
	}
	defer s.closeDir()
	if len(paths) == 0 {
		paths = []string{"."}
	}
	err = s.run(paths)
	return s.result, err
}

// run visits each path; a panic anywhere below fails this call only, naming the file it
// happened on.
func (s *session) run(paths []string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &FileError{Path: s.current, Reason: ErrInternal, Detail: "panic while examining the file"}
		}
	}()
	for _, p := range paths {
		if err := s.visitPath(p); err != nil {
			return err
		}
	}
	return nil
}

// session is the state of one Tree call.
type session struct {
	ctx       context.Context
	root      *os.Root
	fsys      fs.FS
	opts      Options
	decrypter *Decrypter
	seenFiles map[string]bool // real paths already examined
	seenDirs  map[string]bool // real directories already walked (symlink cycles)
	result    Result
	current   string // the file being examined, for a panic

	dir     *os.Root // the directory of the last file examined, see dirRoot
	dirPath string
}

// dirRoot returns an os.Root for the real directory dir, reusing the last one. The files of a
// directory are examined together, so this saves resolving the directory again, component by
// component, for every open, create and rename.
func (s *session) dirRoot(dir string) (*os.Root, error) {
	if dir == "" {
		dir = "."
	}
	if s.dir != nil && s.dirPath == dir {
		return s.dir, nil
	}
	r, err := s.root.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	s.closeDir()
	s.dir, s.dirPath = r, dir
	return r, nil
}

func (s *session) closeDir() {
	if s.dir != nil {
		_ = s.dir.Close()
		s.dir = nil
	}
}

// visitPath examines one path the caller named.
func (s *session) visitPath(name string) error {
	rel, err := cleanRel(name)
	if err != nil {
		return &FileError{Path: name, Reason: err}
	}
	real, info, err := resolve(s.root, rel)
	if err != nil {
		return pathErr(rel, err)
	}
	switch {
	case info.IsDir():
		return s.walk(real)
	case info.Mode().IsRegular():
		return s.file(rel, real)
	}
	return fileErr(rel, fs.ErrInvalid, "not a regular file or directory")
}

// walk examines every entry of a real directory, in lexical order.
func (s *session) walk(dir string) error {
	if s.seenDirs[dir] {
		return nil
	}
	s.seenDirs[dir] = true
	entries, err := fs.ReadDir(s.fsys, dir)
	if err != nil {
		return pathErr(dir, err)
	}
	for _, e := range entries {
		if err := s.ctx.Err(); err != nil {
			return fmt.Errorf("decrypt: %w", err)
		}
		if err := s.visitEntry(path.Join(dir, e.Name()), e); err != nil {
			return err
		}
	}
	return nil
}

// visitEntry examines one directory entry; symlinks are resolved inside the tree, and a
// symlink leading out of it is an error even before anything is read through it.
func (s *session) visitEntry(p string, e fs.DirEntry) error {
	switch t := e.Type(); {
	case t&fs.ModeSymlink != 0:
		real, info, err := resolve(s.root, p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // dangling inside the tree: nothing to decrypt
		}
		if err != nil {
			return pathErr(p, err)
		}
		if info.IsDir() {
			return s.walk(real)
		}
		if info.Mode().IsRegular() {
			return s.file(p, real)
		}
	case t.IsDir():
		if e.Name() == ".git" {
			return nil
		}
		return s.walk(p)
	case t.IsRegular():
		return s.file(p, p)
	}
	return nil // devices, pipes and sockets are never opened
}

// file examines one regular file, reached as reached, whose real path is real, and decrypts
// it in place if it is encrypted.
func (s *session) file(reached, real string) error {
	if s.seenFiles[real] {
		return nil
	}
	s.seenFiles[real] = true
	s.current = reached
	s.result.Examined++
	if s.result.Examined > s.opts.MaxFiles {
		return fileErr(reached, ErrTooManyFiles, "more than %d files", s.opts.MaxFiles)
	}
	data, err := s.read(reached, real)
	if err != nil || data == nil {
		return err
	}
	plain, format, err := s.decrypter.File(s.ctx, reached, data)
	if err != nil || format == "" {
		return err
	}
	if err := s.write(real, plain); err != nil {
		return pathErr(reached, err)
	}
	s.result.Decrypted = append(s.result.Decrypted, File{Path: real, Format: format})
	return nil
}

// read returns the content of a file, or nil for a file too large to be examined that shows
// no SOPS marker in its head or tail. An oversized file with a marker is ErrTooLarge.
func (s *session) read(reached, real string) ([]byte, error) {
	dir, base := path.Split(real)
	r, err := s.dirRoot(dir)
	if err != nil {
		return nil, pathErr(reached, err)
	}
	f, err := r.Open(base)
	if err != nil {
		return nil, pathErr(reached, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, pathErr(reached, err)
	}
	limit := s.opts.MaxFileSize
	tooLarge := fileErr(reached, ErrTooLarge, "larger than %d bytes", limit)
	if info.Size() > limit {
		if oversizedHasMarker(f, info.Size()) {
			return nil, tooLarge
		}
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, pathErr(reached, err)
	}
	if int64(len(data)) > limit {
		return nil, tooLarge
	}
	return data, nil
}

// oversizedHasMarker looks for SOPS markers in the head and the tail of a large file only, so
// a huge file is never read whole.
func oversizedHasMarker(f io.ReaderAt, size int64) bool {
	n := int64(headTailSize)
	buf := make([]byte, n)
	for _, off := range []int64{0, max(0, size-n)} {
		read, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return true // unreadable: refuse rather than pass it on
		}
		if hasMarker(buf[:read]) {
			return true
		}
	}
	return false
}

// write replaces a file with its plaintext, mode 0600, through a temporary file and a rename
// inside the same directory, so no reader ever sees a half-written file and a hard-linked
// original is never modified.
func (s *session) write(real string, plain []byte) error {
	dir, base := path.Split(real)
	r, err := s.dirRoot(dir)
	if err != nil {
		return err
	}
	tmp := "." + base + ".decrypt-" + randomSuffix()
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(plain)
	cherr := f.Chmod(0o600) // exactly 0600, whatever the umask
	cerr := f.Close()
	if err := errors.Join(werr, cherr, cerr); err != nil {
		_ = r.Remove(tmp)
		return err
	}
	if err := r.Rename(tmp, base); err != nil {
		_ = r.Remove(tmp)
		return err
	}
	return nil
}

func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// pathErr turns a filesystem error into a *FileError naming rel. The fs.PathError wrapper is
// dropped: its path is absolute or repeats rel.
func pathErr(rel string, err error) error {
	var fe *FileError
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, ErrSymlinkOutOfBounds) {
		return &FileError{Path: rel, Reason: ErrSymlinkOutOfBounds}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	// os.Root refuses an escape that resolve did not see (the tree changed under us).
	if err.Error() == "path escapes from parent" {
		return &FileError{Path: rel, Reason: ErrSymlinkOutOfBounds}
	}
	return &FileError{Path: rel, Reason: err}
}
