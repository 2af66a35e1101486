package source

import (
	"container/list"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// cache holds one bare repository per (URL, credentials) under root, bounded
// by total size and count; entries in use are never evicted.
type cache struct {
	root       string
	salt       []byte
	maxBytes   int64
	maxEntries int

	mu      sync.Mutex
	entries map[string]*entry
	lru     *list.List // of *entry, most recently used first
	total   int64
}

// entry is one cached repository. users and size are guarded by cache.mu;
// the files on disk by entry.mu: fetches and discards write-lock it,
// checkouts and comparisons read-lock it.
type entry struct {
	key  string
	dir  string
	elem *list.Element

	users int
	size  int64
	// files on disk: incremental fetches add loose objects, and past
	// maxEntryFiles the next fetch starts from an empty repository.
	files int

	mu sync.RWMutex
	// gen counts discards, so two callers that both saw a corrupt
	// repository discard it once, not the fresh copy the first one fetched.
	gen int
}

const saltFile = ".salt"

func newCache(opts Options) (*cache, error) {
	if err := os.MkdirAll(opts.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("source cache %s: %w", opts.CacheDir, err)
	}
	salt, err := loadSalt(filepath.Join(opts.CacheDir, saltFile))
	if err != nil {
		return nil, fmt.Errorf("source cache %s: %w", opts.CacheDir, err)
	}
	c := &cache{root: opts.CacheDir, salt: salt, maxBytes: opts.MaxCacheBytes,
		maxEntries: opts.MaxCacheEntries, entries: map[string]*entry{}, lru: list.New()}
	if err := c.load(); err != nil {
		return nil, fmt.Errorf("source cache %s: %w", opts.CacheDir, err)
	}
	return c, nil
}

// loadSalt reads the cache's random salt, creating it on first use: entry
// names are keyed digests, so a weak password cannot be guessed offline
// from a directory name.
func loadSalt(path string) ([]byte, error) {
	salt, err := os.ReadFile(path)
	if err == nil && len(salt) == 32 {
		return salt, nil
	}
	salt = make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	return salt, os.WriteFile(path, salt, 0o600)
}

// load registers entries left by an earlier process, oldest last.
func (c *cache) load() error {
	des, err := os.ReadDir(c.root)
	if err != nil {
		return err
	}
	type found struct {
		key   string
		mod   int64
		size  int64
		files int
	}
	var all []found
	for _, de := range des {
		if !de.IsDir() || len(de.Name()) != 64 {
			// Leftovers of interrupted evictions are removed here.
			if de.IsDir() {
				_ = os.RemoveAll(filepath.Join(c.root, de.Name()))
			}
			continue
		}
		info, err := de.Info()
		if err != nil {
			continue
		}
		size, files := dirUsage(filepath.Join(c.root, de.Name()))
		all = append(all, found{de.Name(), info.ModTime().UnixNano(), size, files})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].mod > all[j].mod })
	for _, f := range all {
		e := &entry{key: f.key, dir: filepath.Join(c.root, f.key), size: f.size, files: f.files}
		e.elem = c.lru.PushBack(e)
		c.entries[f.key] = e
		c.total += f.size
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evictLocked()
	return nil
}

// key names the entry of a URL and credentials.
func (c *cache) key(e endpoint, creds Credentials) string {
	m := hmac.New(sha256.New, c.salt)
	m.Write([]byte(e.identity))
	m.Write([]byte{0})
	m.Write(creds.fingerprint())
	return hex.EncodeToString(m.Sum(nil))
}

// acquire returns the entry of key, marked in use until release.
func (c *cache) acquire(key string) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		e = &entry{key: key, dir: filepath.Join(c.root, key)}
		e.elem = c.lru.PushFront(e)
		c.entries[key] = e
	} else {
		c.lru.MoveToFront(e.elem)
	}
	e.users++
	return e
}

// release ends a use of e and evicts what is over the bounds.
func (c *cache) release(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.users--
	c.evictLocked()
}

// maxEntryFiles bounds the files of one entry: thin fetches store a few
// loose objects each, and a fresh shallow fetch is one pack again.
const maxEntryFiles = 10_000

// measure records e's usage on disk after a fetch or discard.
func (c *cache) measure(e *entry) {
	size, files := dirUsage(e.dir)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += size - e.size
	e.size, e.files = size, files
}

// evictLocked removes least recently used entries not in use until the
// cache is within its bounds. A directory is renamed away under the lock (so
// a new entry with the same key starts empty) and deleted in the background.
func (c *cache) evictLocked() {
	for el := c.lru.Back(); el != nil && (c.total > c.maxBytes || c.lru.Len() > c.maxEntries); {
		e := el.Value.(*entry)
		el = el.Prev()
		if e.users > 0 {
			continue
		}
		c.lru.Remove(e.elem)
		delete(c.entries, e.key)
		c.total -= e.size
		trash := e.dir + ".evicted-" + randomSuffix()
		if err := os.Rename(e.dir, trash); err == nil {
			go func() { _ = os.RemoveAll(trash) }()
		} else if !errors.Is(err, fs.ErrNotExist) {
			_ = os.RemoveAll(e.dir)
		}
	}
}

// len reports the number of entries, for tests.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) int64 {
	n, _ := dirUsage(dir)
	return n
}

// dirUsage returns the bytes and the number of regular files under dir.
func dirUsage(dir string) (bytes int64, files int) {
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				bytes += info.Size()
				files++
			}
		}
		return nil
	})
	return bytes, files
}
