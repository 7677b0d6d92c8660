package warehouse

import (
	"fmt"
	"testing"
)

func entry(loc string, size int) *Metadata {
	return &Metadata{Location: loc, Raw: make([]byte, size)}
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
	if c.bytes > 3000 {
		t.Fatalf("cache charges %d bytes, bound 3000", c.bytes)
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
	if _, ok := c.get("0"); ok || c.bytes > 2400 {
		t.Errorf("remove: bytes %d", c.bytes)
	}
}
