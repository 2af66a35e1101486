package render

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Cache remembers renders so the same inputs are never rendered twice. An
// entry is keyed by the render's options (engine, path, values, namespace,
// capabilities, limits) and holds every question the render asked of the
// checkout with its answer: each file read with a hash of its contents, each
// directory listed, each name resolved or found missing, and each scope
// discovery gave. A later render with the same options is served from the
// entry when asking the same questions of its checkout gives the same
// answers, so a commit that changes only other paths reuses it. Failed
// renders are remembered too, except cancelled ones. Renders of the same
// options wait for each other rather than render twice. A Cache is safe for
// concurrent use.
type Cache struct {
	mu       sync.Mutex
	stats    CacheStats
	max      int
	lru      *list.List                 // of *entry, most recent first
	byKey    map[string][]*list.Element // entries of the same options
	inflight map[string]*keyLock
}

// entry is one remembered render.
type entry struct {
	key    string
	deps   map[dep]string
	scopes map[schema.GroupKind]string
	objs   []*unstructured.Unstructured
	err    error
}

// keyLock makes renders of the same options wait for each other.
type keyLock struct {
	mu   sync.Mutex
	refs int
}

// NewCache returns a cache holding at most maxEntries renders, least
// recently used first out; maxEntries < 1 holds one.
func NewCache(maxEntries int) *Cache {
	return &Cache{max: max(maxEntries, 1), lru: list.New(), byKey: map[string][]*list.Element{}, inflight: map[string]*keyLock{}}
}

// lock waits until no other render of key runs, and returns the unlock.
func (c *Cache) lock(key string) func() {
	c.mu.Lock()
	l := c.inflight[key]
	if l == nil {
		l = &keyLock{}
		c.inflight[key] = l
	}
	l.refs++
	c.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		c.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(c.inflight, key)
		}
		c.mu.Unlock()
	}
}

// lookup returns the entry of key whose questions get the same answers from
// the checkout at root and from discover.
func (c *Cache) lookup(ctx context.Context, key, root string, limits Limits, discover func(schema.GroupKind) (bool, error)) *entry {
	c.mu.Lock()
	candidates := append([]*list.Element(nil), c.byKey[key]...)
	c.mu.Unlock()
	if len(candidates) == 0 {
		return nil
	}
	chk, err := openCheckout(ctx, root, limits)
	if err != nil {
		return nil
	}
	defer chk.Close()
	for _, el := range candidates {
		e := el.Value.(*entry)
		if e.holds(chk, discover) {
			c.mu.Lock()
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return e
		}
	}
	return nil
}

// holds reports whether every question of e gets the same answer again.
func (e *entry) holds(chk *checkout, discover func(schema.GroupKind) (bool, error)) bool {
	for d, want := range e.deps {
		if ask(chk, d) != want {
			return false
		}
	}
	for gk, want := range e.scopes {
		if discover == nil || askScope(discover, gk) != want {
			return false
		}
	}
	return true
}

// store remembers a render, evicting the least recently used beyond max.
func (c *Cache) store(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.lru.PushFront(e)
	c.byKey[e.key] = append(c.byKey[e.key], el)
	for c.lru.Len() > c.max {
		c.remove(c.lru.Back())
	}
}

func (c *Cache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*entry)
	els := c.byKey[e.key]
	for i, x := range els {
		if x == el {
			els = append(els[:i], els[i+1:]...)
			break
		}
	}
	if len(els) == 0 {
		delete(c.byKey, e.key)
	} else {
		c.byKey[e.key] = els
	}
}

// CacheStats counts a cache's lookups.
type CacheStats struct {
	// Hits are renders served from the cache.
	Hits int
	// Misses are renders that ran.
	Misses int
	// Entries is how many renders the cache holds.
	Entries int
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries = c.lru.Len()
	return s
}

// count records one lookup.
func (c *Cache) count(hit bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hit {
		c.stats.Hits++
	} else {
		c.stats.Misses++
	}
}

// ask puts question d to the checkout again and returns the answer.
func ask(c *checkout, d dep) string {
	switch d.op {
	case "resolve":
		return answerResolve(c.resolve(d.name))
	case "stat":
		return answerStat(c.stat(d.name))
	case "readdir":
		return answerReadDir(c.readDir(d.name))
	case "read":
		_, data, err := c.readFile(d.name)
		return answerRead(data, err)
	}
	return "?"
}

// The answers recorded for each question: what the engine could observe.

func answerResolve(real string, err error) string {
	if err != nil {
		return answerErr(err)
	}
	return "ok " + real
}

func answerStat(fi fs.FileInfo, err error) string {
	switch {
	case err != nil:
		return answerErr(err)
	case fi.IsDir():
		return "dir"
	default:
		return "file " + fi.Mode().Type().String() + " " + strconv.FormatInt(fi.Size(), 10)
	}
}

func answerReadDir(entries []fs.DirEntry, err error) string {
	if err != nil {
		return answerErr(err)
	}
	h := sha256.New()
	for _, e := range entries {
		h.Write([]byte(e.Type().String() + " " + e.Name() + "\x00"))
	}
	return "entries " + hex.EncodeToString(h.Sum(nil))
}

func answerRead(data []byte, err error) string {
	if err != nil {
		return answerErr(err)
	}
	sum := sha256.Sum256(data)
	return "data " + hex.EncodeToString(sum[:])
}

// answerErr classifies an error; its text may hold temporary paths.
func answerErr(err error) string {
	var e *Error
	switch {
	case errors.As(err, &e):
		return "error " + string(e.Reason) + " " + e.File
	case errors.Is(err, fs.ErrNotExist):
		return "missing"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
	default:
		return "error " + strings.SplitN(err.Error(), ":", 2)[0]
	}
}

// copyObjects returns deep copies, so no caller can change a cached render.
func copyObjects(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = o.DeepCopy()
	}
	return out
}
