package chartrepo

import (
	"path/filepath"
	"testing"
)

// TestNewClient: zero bounds take their defaults, negative ones are refused,
// and the cache directory is made.
func TestNewClient(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	c, err := NewClient(Options{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultOptions()
	if c.opts.MaxIndexBytes != def.MaxIndexBytes || c.opts.MaxChartBytes != def.MaxChartBytes || c.opts.Timeout != def.Timeout || c.opts.MaxCacheBytes != def.MaxCacheBytes {
		t.Errorf("options %+v did not take the defaults %+v", c.opts, def)
	}
	if c.cache == nil || c.cache.dir != dir {
		t.Errorf("cache %+v, want one in %s", c.cache, dir)
	}
	if c, err := NewClient(Options{}); err != nil || c.cache != nil {
		t.Errorf("NewClient without CacheDir: cache %v, %v", c.cache, err)
	}
	for _, opts := range []Options{{MaxIndexBytes: -1}, {MaxChartBytes: -1}, {MaxCacheBytes: -1}, {Timeout: -1}} {
		if _, err := NewClient(opts); err == nil {
			t.Errorf("NewClient(%+v) took a negative bound", opts)
		}
	}
}
