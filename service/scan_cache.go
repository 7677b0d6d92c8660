package service

import (
	"container/list"
	"sync"
)

// planCache keeps recent planning results so that the plan tasks of one
// plan, fetched one after another, do not each plan the scan again. A
// result is keyed by an immutable metadata file and the scan's inputs, so
// it can never go stale; memory is bounded by the number of files held,
// with least-recently-used eviction.
type planCache struct {
	mu       sync.Mutex
	maxFiles int
	files    int
	order    *list.List // front = most recently used
	entries  map[string]*list.Element
}

type planCacheEntry struct {
	key  string
	scan *plannedScan
}

func newPlanCache(maxFiles int) *planCache {
	return &planCache{maxFiles: maxFiles, order: list.New(), entries: map[string]*list.Element{}}
}

func (c *planCache) get(key string) (*plannedScan, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*planCacheEntry).scan, true
}

func (c *planCache) put(key string, ps *plannedScan) {
	weight := len(ps.files) + 1
	if weight > c.maxFiles {
		return // would evict everything else and still not fit
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok {
		return
	}
	c.entries[key] = c.order.PushFront(&planCacheEntry{key: key, scan: ps})
	c.files += weight
	for c.files > c.maxFiles {
		last := c.order.Back()
		e := last.Value.(*planCacheEntry)
		c.order.Remove(last)
		delete(c.entries, e.key)
		c.files -= len(e.scan.files) + 1
	}
}
