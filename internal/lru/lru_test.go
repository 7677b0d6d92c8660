package lru

import (
	"fmt"
	"sync"
	"testing"
)

func TestEvictsLeastRecentlyUsedByWeight(t *testing.T) {
	c := New[string, int](Config[int]{MaxWeight: 10})
	c.Put("a", 1, 4)
	c.Put("b", 2, 4)
	if _, ok := c.Get("a"); !ok { // a is now more recent than b
		t.Fatal("a missing")
	}
	if !c.Put("c", 3, 4) { // 12 > 10: the least recently used, b, goes
		t.Fatal("c refused")
	}
	if _, ok := c.Get("b"); ok {
		t.Error("b kept; it was the least recently used")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.Get(k); !ok {
			t.Errorf("%s evicted", k)
		}
	}
	st := c.Stats()
	if st.Weight != 8 || st.Entries != 2 || st.Evictions != 1 || st.MaxWeight != 10 {
		t.Errorf("stats %+v, want weight 8, 2 entries, 1 eviction", st)
	}
	// One heavy entry evicts as many light ones as it takes.
	c.Put("d", 4, 9)
	if st := c.Stats(); st.Entries != 1 || st.Weight != 9 {
		t.Errorf("after a heavy put: %+v, want only d", st)
	}
}

func TestRefusesOversizeEntries(t *testing.T) {
	c := New[string, int](Config[int]{MaxWeight: 10, MaxEntryWeight: 5})
	c.Put("small", 1, 5)
	if c.Put("big", 2, 6) {
		t.Error("an entry over MaxEntryWeight was kept")
	}
	if _, ok := c.Get("big"); ok {
		t.Error("big held")
	}
	if _, ok := c.Get("small"); !ok {
		t.Error("an oversize put evicted what was held")
	}
	// Without MaxEntryWeight the bound itself is the limit.
	c = New[string, int](Config[int]{MaxWeight: 10})
	if c.Put("over", 1, 11) || !c.Put("fits", 1, 10) {
		t.Error("MaxEntryWeight should default to MaxWeight")
	}
}

func TestPutOfHeldKey(t *testing.T) {
	keep := New[string, string](Config[string]{MaxWeight: 10})
	keep.Put("k", "first", 2)
	if keep.Put("k", "second", 3) {
		t.Error("without Replace a held key was replaced")
	}
	if v, _ := keep.Get("k"); v != "first" {
		t.Errorf("got %q, want first", v)
	}
	// Replace decides, and the entry is charged its new weight.
	upgrade := New[string, string](Config[string]{MaxWeight: 10,
		Replace: func(held, offered string) bool { return len(offered) > len(held) }})
	upgrade.Put("k", "ab", 2)
	upgrade.Put("other", "x", 1)
	if !upgrade.Put("k", "abcd", 4) || upgrade.Put("k", "a", 1) {
		t.Error("Replace was not followed")
	}
	if v, _ := upgrade.Get("k"); v != "abcd" {
		t.Errorf("got %q, want abcd", v)
	}
	if w := upgrade.Stats().Weight; w != 5 {
		t.Errorf("weight %d, want 5", w)
	}
	upgrade.Remove("k")
	if st := upgrade.Stats(); st.Weight != 1 || st.Entries != 1 {
		t.Errorf("after Remove: %+v", st)
	}
	upgrade.Remove("absent")
}

func TestHitsAndMisses(t *testing.T) {
	c := New[int, int](Config[int]{MaxWeight: 10})
	c.Put(1, 1, 1)
	c.Get(1)
	c.Get(1)
	c.Get(2)
	if st := c.Stats(); st.Hits != 2 || st.Misses != 1 {
		t.Errorf("stats %+v, want 2 hits and 1 miss", st)
	}
}

// TestConcurrentUse is for -race: many goroutines get, put and remove,
// and the cache stays within its bound with its weight matching its
// entries.
func TestConcurrentUse(t *testing.T) {
	c := New[string, int](Config[int]{MaxWeight: 100, MaxEntryWeight: 20,
		Replace: func(held, offered int) bool { return offered > held }})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := fmt.Sprint(i % 50)
				switch (i + g) % 4 {
				case 0, 1:
					c.Put(k, i, int64(i%25))
				case 2:
					c.Get(k)
				case 3:
					c.Remove(k)
				}
				if w := c.Stats().Weight; w > 100 || w < 0 {
					t.Errorf("weight %d outside [0, 100]", w)
					return
				}
			}
		}()
	}
	wg.Wait()
	var sum int64
	c.mu.Lock()
	for el := c.order.Front(); el != nil; el = el.Next() {
		sum += el.Value.(*entry[string, int]).weight
	}
	n, w := len(c.entries), c.weight
	c.mu.Unlock()
	if sum != w || n != c.order.Len() {
		t.Errorf("weight %d but entries weigh %d; %d keys, %d in order", w, sum, n, c.order.Len())
	}
}
