package warehouse

import (
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/internal/lru"
)

// MetadataFile is one table metadata file as bytes only: what a
// loadTable sends as it is (ReadServable). Raw is the uncompressed JSON;
// handlers can send it without re-encoding.
type MetadataFile struct {
	Location string
	Raw      []byte
	// TableLocation is the table's root location (the file's "location"
	// field).
	TableLocation string
}

// Metadata is one table metadata file parsed: its bytes and iceberg-go's
// model of them, which is never nil (ReadMetadata, WriteMetadata).
type Metadata struct {
	MetadataFile
	Parsed table.Metadata
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
//
// An entry read only to be served holds the bytes alone (a Metadata whose
// Parsed is nil, which never leaves the cache: ReadServable hands out its
// MetadataFile, ReadMetadata parses it).
type cache struct {
	lru *lru.Cache[string, *Metadata]
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
	st := c.lru.Stats()
	return CacheStats{Hits: st.Hits, Misses: st.Misses, Evictions: st.Evictions, Bytes: st.Weight, MaxBytes: st.MaxWeight, Entries: st.Entries}
}

func newCache(maxBytes int64) *cache {
	return &cache{lru: lru.New[string, *Metadata](lru.Config[*Metadata]{
		MaxWeight: maxBytes,
		// one huge table must not flush everything else
		MaxEntryWeight: maxBytes / 2,
		// The same file, now parsed too: the entry gains its model (and
		// a parsed entry is never replaced by an unparsed one).
		Replace: func(held, offered *Metadata) bool { return held.Parsed == nil && offered.Parsed != nil },
	})}
}

func (c *cache) get(loc string) (*Metadata, bool) { return c.lru.Get(loc) }

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

func (c *cache) put(md *Metadata) { c.lru.Put(md.Location, md, charge(md)) }

func (c *cache) remove(loc string) { c.lru.Remove(loc) }
