package warehouse

import (
	"container/list"
	"sync"

	"github.com/apache/iceberg-go/table"
)

// Metadata is one parsed metadata file with the bytes it was parsed from.
// Raw is the uncompressed JSON; handlers can send it without re-encoding.
type Metadata struct {
	Location string
	Parsed   table.Metadata
	Raw      []byte
}

// cache holds metadata files by location. A metadata file is never rewritten
// in place (each commit writes a new, uniquely named file), so an entry can
// never go stale; the only question is memory, bounded by maxBytes of raw
// JSON with least-recently-used eviction.
type cache struct {
	mu       sync.Mutex
	maxBytes int64
	bytes    int64
	order    *list.List // front = most recently used
	entries  map[string]*list.Element
}

func newCache(maxBytes int64) *cache {
	return &cache{maxBytes: maxBytes, order: list.New(), entries: map[string]*list.Element{}}
}

func (c *cache) get(loc string) (*Metadata, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[loc]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*Metadata), true
}

func (c *cache) put(md *Metadata) {
	size := int64(len(md.Raw))
	if size > c.maxBytes/4 { // one huge table must not flush everything else
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[md.Location]; ok {
		return
	}
	c.entries[md.Location] = c.order.PushFront(md)
	c.bytes += size
	for c.bytes > c.maxBytes {
		last := c.order.Back()
		old := last.Value.(*Metadata)
		c.order.Remove(last)
		delete(c.entries, old.Location)
		c.bytes -= int64(len(old.Raw))
	}
}

func (c *cache) remove(loc string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[loc]; ok {
		c.order.Remove(el)
		delete(c.entries, loc)
		c.bytes -= int64(len(el.Value.(*Metadata).Raw))
	}
}
