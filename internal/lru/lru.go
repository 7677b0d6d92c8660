// Package lru is a least-recently-used cache bounded by the weight of its
// entries (bytes, files: whatever the caller charges), safe for concurrent
// use.
package lru

import (
	"container/list"
	"sync"
)

// Config configures a Cache.
type Config[V any] struct {
	// MaxWeight bounds the sum of the entries' weights.
	MaxWeight int64
	// MaxEntryWeight is the largest weight one entry may have; a heavier
	// one is not kept, so that one huge entry cannot flush every other.
	// Zero means MaxWeight.
	MaxEntryWeight int64
	// Replace, when set, says whether Put of a key already held replaces
	// the held value (as when a richer form of the same value arrives).
	// When nil the held value stays.
	Replace func(held, offered V) bool
}

// Stats counts a Cache's use since it was made.
type Stats struct {
	Hits      uint64 // Gets that found their key
	Misses    uint64 // Gets that did not
	Evictions uint64 // entries dropped to stay within the bound
	Weight    int64  // what the entries weigh now
	MaxWeight int64  // the bound
	Entries   int
}

// Cache is a weighted LRU cache; make one with New.
type Cache[K comparable, V any] struct {
	cfg Config[V]

	mu      sync.Mutex
	weight  int64
	order   *list.List // of *entry[K, V]; front = most recently used
	entries map[K]*list.Element

	hits, misses, evictions uint64
}

type entry[K comparable, V any] struct {
	key    K
	value  V
	weight int64
}

// New returns an empty Cache.
func New[K comparable, V any](cfg Config[V]) *Cache[K, V] {
	if cfg.MaxEntryWeight <= 0 || cfg.MaxEntryWeight > cfg.MaxWeight {
		cfg.MaxEntryWeight = cfg.MaxWeight
	}
	return &Cache[K, V]{cfg: cfg, order: list.New(), entries: map[K]*list.Element{}}
}

// Get returns the value held for key and marks it most recently used.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		c.misses++
		var zero V
		return zero, false
	}
	c.hits++
	c.order.MoveToFront(el)
	return el.Value.(*entry[K, V]).value, true
}

// Put keeps value under key, charged weight, evicting the least recently
// used entries until the cache is within its bound. It reports whether
// value is now held: an entry heavier than MaxEntryWeight is refused, and
// a key already held keeps its value unless Config.Replace says otherwise.
func (c *Cache[K, V]) Put(key K, value V, weight int64) bool {
	if weight > c.cfg.MaxEntryWeight {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*entry[K, V])
		if c.cfg.Replace == nil || !c.cfg.Replace(e.value, value) {
			return false
		}
		c.weight += weight - e.weight
		e.value, e.weight = value, weight
		c.order.MoveToFront(el)
	} else {
		c.entries[key] = c.order.PushFront(&entry[K, V]{key: key, value: value, weight: weight})
		c.weight += weight
	}
	for c.weight > c.cfg.MaxWeight {
		last := c.order.Back()
		e := last.Value.(*entry[K, V])
		c.order.Remove(last)
		delete(c.entries, e.key)
		c.weight -= e.weight
		c.evictions++
	}
	return true
}

// Remove drops key's entry, if held.
func (c *Cache[K, V]) Remove(key K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.order.Remove(el)
		delete(c.entries, key)
		c.weight -= el.Value.(*entry[K, V]).weight
	}
}

// Stats returns the counts since the cache was made.
func (c *Cache[K, V]) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Hits: c.hits, Misses: c.misses, Evictions: c.evictions, Weight: c.weight,
		MaxWeight: c.cfg.MaxWeight, Entries: len(c.entries)}
}
