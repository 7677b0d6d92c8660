package warehouse

import (
	"container/list"
	"sync"

	"github.com/apache/iceberg-go/table"
)

// Metadata is one metadata file: the bytes it was read from or written as
// and, unless it was only read to be served (ReadServable), iceberg-go's
// parsed model of them. Raw is the uncompressed JSON; handlers can send it
// without re-encoding.
type Metadata struct {
	Location string
	Parsed   table.Metadata // nil when only read to be served
	Raw      []byte
	// TableLocation is the table's root location (the file's "location"
	// field), set even when Parsed is nil.
	TableLocation string
	// snapshots is each snapshot's JSON within Raw, when this catalog
	// encoded the file (encodeDraft).
	snapshots encodedSnapshots
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
	// counts since start, for CacheStats
	hits, misses, evictions uint64
}

// CacheStats describes the metadata cache, for metrics.
type CacheStats struct {
	Hits      uint64 // reads answered without reading storage
	Misses    uint64 // reads that went to storage
	Evictions uint64 // entries dropped to stay within the bound
	Bytes     int64  // what the entries are charged
	MaxBytes  int64  // the bound
	Entries   int
}

func (c *cache) stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Hits: c.hits, Misses: c.misses, Evictions: c.evictions, Bytes: c.bytes, MaxBytes: c.maxBytes, Entries: len(c.entries)}
}

func newCache(maxBytes int64) *cache {
	return &cache{maxBytes: maxBytes, order: list.New(), entries: map[string]*list.Element{}}
}

func (c *cache) get(loc string) (*Metadata, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[loc]
	if !ok {
		c.misses++
		return nil, false
	}
	c.hits++
	c.order.MoveToFront(el)
	return el.Value.(*Metadata), true
}

// parsedFactor is the parsed model's size as a multiple of the JSON's, at
// the top of what was measured.
const parsedFactor = 2

// charge is what an entry counts against the bound: its JSON, and its
// parsed model if it has one.
func charge(md *Metadata) int64 {
	if md.Parsed == nil {
		return int64(len(md.Raw))
	}
	return int64(len(md.Raw)) * (1 + parsedFactor)
}

func (c *cache) put(md *Metadata) {
	size := charge(md)
	if size > c.maxBytes/2 { // one huge table must not flush everything else
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[md.Location]; ok {
		old := el.Value.(*Metadata)
		if old.Parsed != nil || md.Parsed == nil {
			return
		}
		// The same file, now parsed too: the entry gains its model.
		el.Value = md
		c.order.MoveToFront(el)
		c.bytes += size - charge(old)
	} else {
		c.entries[md.Location] = c.order.PushFront(md)
		c.bytes += size
	}
	for c.bytes > c.maxBytes {
		last := c.order.Back()
		old := last.Value.(*Metadata)
		c.order.Remove(last)
		delete(c.entries, old.Location)
		c.bytes -= charge(old)
		c.evictions++
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
