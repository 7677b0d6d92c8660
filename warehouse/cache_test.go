package warehouse

import (
	"fmt"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// parsed stands for any parsed model: the cache only looks at its presence.
var parsed = func() table.Metadata {
	md, err := table.NewMetadata(iceberg.NewSchema(0), iceberg.UnpartitionedSpec, table.UnsortedSortOrder, "file:///w/t", nil)
	if err != nil {
		panic(err)
	}
	return md
}()

// entry is a parsed file of size JSON bytes.
func entry(loc string, size int) *Metadata {
	return &Metadata{MetadataFile: MetadataFile{Location: loc, Raw: make([]byte, size)}, Parsed: parsed}
}

func TestCacheStaysWithinItsBoundAndEvictsLeastRecentlyUsed(t *testing.T) {
	c := newCache(3000) // entries of 200 JSON bytes are charged 600
	for i := 0; i < 4; i++ {
		c.put(entry(fmt.Sprint(i), 200))
	}
	if _, ok := c.get("0"); !ok { // touch 0: 1 becomes the oldest
		t.Fatal("0 missing")
	}
	c.put(entry("4", 200))
	c.put(entry("5", 200))
	if c.stats().Bytes > 3000 {
		t.Fatalf("cache charges %d bytes, bound 3000", c.stats().Bytes)
	}
	if _, ok := c.get("1"); ok {
		t.Error("least recently used entry 1 survived")
	}
	for _, k := range []string{"0", "4", "5"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("recent entry %s evicted", k)
		}
	}
	c.put(entry("huge", 501)) // charged over half the bound: not cached
	if _, ok := c.get("huge"); ok {
		t.Error("an entry charged over half the bound was cached")
	}
	c.remove("0")
	if _, ok := c.get("0"); ok || c.stats().Bytes > 2400 {
		t.Errorf("remove: bytes %d", c.stats().Bytes)
	}
}

// TestCacheChargesUnparsedEntriesTheirBytesAndUpgradesThem: a file read
// only to be served is charged its JSON alone; parsing it later replaces
// the entry and charges the model too, and a later unparsed put never
// downgrades it.
func TestCacheChargesUnparsedEntriesTheirBytesAndUpgradesThem(t *testing.T) {
	c := newCache(3000)
	raw := &Metadata{MetadataFile: MetadataFile{Location: "a", Raw: make([]byte, 200)}}
	c.put(raw)
	if c.stats().Bytes != 200 {
		t.Fatalf("unparsed entry charged %d, want 200", c.stats().Bytes)
	}
	c.put(entry("a", 200))
	if got, _ := c.get("a"); got.Parsed == nil || c.stats().Bytes != 600 {
		t.Fatalf("after parsing: parsed=%v, charged %d, want 600", got.Parsed != nil, c.stats().Bytes)
	}
	c.put(raw)
	if got, _ := c.get("a"); got.Parsed == nil || c.stats().Bytes != 600 {
		t.Fatalf("an unparsed put replaced the parsed entry (charged %d)", c.stats().Bytes)
	}
	for i := range 20 { // 20 unparsed entries of 100 fit beside it
		c.put(&Metadata{MetadataFile: MetadataFile{Location: fmt.Sprint(i), Raw: make([]byte, 100)}})
	}
	if c.stats().Bytes > 3000 {
		t.Fatalf("cache charges %d bytes, bound 3000", c.stats().Bytes)
	}
	if _, ok := c.get("a"); !ok {
		t.Error("the parsed entry was evicted although everything fits")
	}
}

func TestCacheStatsCountHitsMissesAndEvictions(t *testing.T) {
	c := newCache(1200) // two parsed entries of 200 bytes fit (600 each)
	c.get("a")
	c.put(entry("a", 200))
	c.get("a")
	c.put(entry("b", 200))
	c.put(entry("c", 200)) // evicts a
	c.get("a")
	st := c.stats()
	if st.Hits != 1 || st.Misses != 2 || st.Evictions != 1 || st.Entries != 2 || st.Bytes != 1200 || st.MaxBytes != 1200 {
		t.Fatalf("stats %+v", st)
	}
}
