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
// never go stale; the only question is memory, bounded by maxBytes with
// least-recently-used eviction. An entry is charged for its raw JSON and
// for iceberg-go's parsed model of it, which measures at one to two times
// the JSON's size (ice-bench, docs/benchmarks.md): counting the JSON alone
// let a 32 MiB cache hold about 96 MiB.
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

// parsedFactor is the parsed model's size as a multiple of the JSON's, at
// the top of what was measured.
const parsedFactor = 2

// charge is what an entry counts against the bound.
func charge(md *Metadata) int64 { return int64(len(md.Raw)) * (1 + parsedFactor) }

func (c *cache) put(md *Metadata) {
	size := charge(md)
	if size > c.maxBytes/2 { // one huge table must not flush everything else
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
		c.bytes -= charge(old)
	}
}

func (c *cache) remove(loc string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[loc]; ok {
		c.order.Remove(el)
		delete(c.entries, loc)
		c.bytes -= charge(el.Value.(*Metadata))
	}
}
