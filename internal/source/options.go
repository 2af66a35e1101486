package source

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Options configures a Client. Start from DefaultOptions.
type Options struct {
	// CacheDir holds one bare repository per URL and credentials identity.
	// It must be used by one process at a time. Entries left by an earlier
	// process are reused (and verified when read).
	CacheDir string
	// MaxCacheBytes bounds the cache's size on disk; least recently used
	// entries not in use are removed past it.
	MaxCacheBytes int64
	// MaxCacheEntries bounds the number of cached repositories.
	MaxCacheEntries int
	// MaxFetchBytes bounds the pack data one fetch may download.
	MaxFetchBytes int64
	// MaxCheckoutBytes bounds the bytes of file content one checkout writes.
	MaxCheckoutBytes int64
	// MaxCheckoutFiles bounds the files, directories and symlinks one
	// checkout writes.
	MaxCheckoutFiles int
	// Timeout bounds one shared fetch (ref listing and download). It applies
	// even when the context of the caller that started it is cancelled,
	// because other callers may be waiting for the same fetch.
	Timeout time.Duration
	// ObjectCacheBytes is the in-memory object cache of each open
	// repository; larger speeds up checkouts of big trees.
	ObjectCacheBytes int64
}

// DefaultOptions returns options sized for a controller serving a few
// hundred AppSources from a few dozen repositories.
func DefaultOptions() Options {
	return Options{
		CacheDir:         filepath.Join(os.TempDir(), "driftless-source"),
		MaxCacheBytes:    4 << 30,
		MaxCacheEntries:  128,
		MaxFetchBytes:    1 << 30,
		MaxCheckoutBytes: 1 << 30,
		MaxCheckoutFiles: 100_000,
		Timeout:          3 * time.Minute,
		ObjectCacheBytes: 16 << 20,
	}
}

func (o Options) validate() error {
	switch {
	case o.CacheDir == "":
		return fmt.Errorf("source options: cache directory is required")
	case o.MaxCacheBytes <= 0 || o.MaxCacheEntries <= 0:
		return fmt.Errorf("source options: cache bounds must be positive")
	case o.MaxFetchBytes <= 0 || o.MaxCheckoutBytes <= 0 || o.MaxCheckoutFiles <= 0:
		return fmt.Errorf("source options: fetch and checkout bounds must be positive")
	case o.Timeout <= 0:
		return fmt.Errorf("source options: timeout must be positive")
	case o.ObjectCacheBytes <= 0:
		return fmt.Errorf("source options: object cache size must be positive")
	}
	return nil
}
