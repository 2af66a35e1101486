package chartrepo

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// staleTemp is the age after which a temporary file left in the cache by a
// process that died while writing it is removed.
const staleTemp = time.Hour

// cache keeps chart archives in a directory, one file <key>.tgz each,
// written atomically. It is bounded by maxBytes: after each write the least
// recently used archives (by modification time, which a read refreshes) are
// removed until the rest fit. Anything in it may be removed at any moment
// and only costs a download. A nil cache keeps nothing.
type cache struct {
	dir      string
	maxBytes int64
	maxEntry int64
	// mu serialises writes and pruning within the process.
	mu sync.Mutex
}

// get returns the archive stored under key, if its digest ("" for none)
// verifies; one that does not is removed.
func (c *cache) get(key, digest string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	name := c.path(key)
	fi, err := os.Stat(name)
	if err != nil {
		return nil, false
	}
	if fi.Size() > c.maxEntry {
		_ = os.Remove(name)
		return nil, false
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, false
	}
	if verify(data, digest) != nil {
		_ = os.Remove(name)
		return nil, false
	}
	now := time.Now()
	_ = os.Chtimes(name, now, now)
	return data, true
}

// put stores data under key: a temporary file renamed into place, so a
// reader sees the whole archive or none. Then it prunes.
func (c *cache) put(key string, data []byte) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tmp, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), c.path(key))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return c.prune(key)
}

// prune removes the least recently used archives but keep until the rest
// fit in maxBytes, and stale temporary files.
func (c *cache) prune(keep string) error {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return err
	}
	type archive struct {
		name string
		size int64
		used time.Time
	}
	var archives []archive
	var total int64
	var errs []error
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		switch {
		case strings.HasPrefix(e.Name(), ".tmp-"):
			if time.Since(fi.ModTime()) > staleTemp {
				errs = append(errs, removeMissingOK(filepath.Join(c.dir, e.Name())))
			}
		case strings.HasSuffix(e.Name(), ".tgz"):
			archives = append(archives, archive{e.Name(), fi.Size(), fi.ModTime()})
			total += fi.Size()
		}
	}
	sort.Slice(archives, func(i, j int) bool { return archives[i].used.Before(archives[j].used) })
	for _, a := range archives {
		if total <= c.maxBytes {
			break
		}
		if a.name == keep+".tgz" {
			continue
		}
		errs = append(errs, removeMissingOK(filepath.Join(c.dir, a.name)))
		total -= a.size
	}
	return errors.Join(errs...)
}

func (c *cache) path(key string) string {
	return filepath.Join(c.dir, key+".tgz")
}

// removeMissingOK removes name; another process may have removed it first.
func removeMissingOK(name string) error {
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
