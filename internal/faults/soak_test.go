//go:build faults

package faults_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ice-rest-catalog/ice/internal/faults"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// Soak bounds. ICE_SOAK_DURATION (a Go duration, at least soakMin) runs
// longer; the op count bound keeps a fast machine from running away.
const (
	soakMin     = 2 * time.Minute
	soakWarmup  = 30 * time.Second
	soakWorkers = 6
	soakMaxOps  = 20000 // per worker
	soakTables  = 6
)

// TestSoak runs a mixed workload, loads, listings and appends spread over
// three replicas, with no fault injected, and asserts no 5xx at all, no
// lost or duplicated commit, and flat memory on each replica: RSS at the end
// within a generous bound of RSS after warm-up. It also measures what a
// table pointer and a commit cost in etcd, for the sizing guidance in
// docs/reliability.md.
func TestSoak(t *testing.T) {
	duration := soakMin
	if v := os.Getenv("ICE_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("ICE_SOAK_DURATION: %v", err)
		}
		duration = max(d, soakMin)
	}
	// A small metadata cache fills during warm-up, so that what is
	// measured after it is the steady state, not the cache filling up.
	s := startStack(t, false, "metadataCacheBytes: 4194304\n")
	tables := newRotation(s, soakTables)
	before := s.etcdStatus()

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < soakWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < soakMaxOps && ctx.Err() == nil; i++ {
				s.mixedOp(w, i, tables)
			}
		}()
	}
	time.Sleep(soakWarmup)
	rssStart := s.rss()
	t.Logf("after warm-up: %s", s.runtimeStats())
	<-ctx.Done()
	wg.Wait()
	rssEnd := s.rss()
	t.Logf("at the end: %s", s.runtimeStats())

	ids := tables.current()
	r := s.check(ids)
	after := s.etcdStatus()
	t.Logf("soak %v: %v; %d tables rotated out", duration, r, tables.dropped())
	all := faults.Count(s.hist.Ops()) // dropped tables' requests too
	t.Logf("all requests: %d loads, %d commits, %d other (listings); 5xx: %v", all.Loads, all.Commits, all.Others, all.Status5xx)
	if len(all.Status5xx) > 0 {
		t.Errorf("5xx answers with no fault injected: %v", all.Status5xx)
	}
	for i := range rssStart {
		// Generous: caches fill and the Go heap breathes, but a leak that
		// grows with every request would pass this bound within minutes.
		bound := rssStart[i] + max(64<<20, rssStart[i]/2)
		t.Logf("replica %d RSS after warm-up %d MiB, at the end %d MiB (bound %d MiB)", i, rssStart[i]>>20, rssEnd[i]>>20, bound>>20)
		if rssEnd[i] > bound {
			t.Errorf("replica %d RSS grew from %d to %d MiB", i, rssStart[i]>>20, rssEnd[i]>>20)
		}
	}
	keyBytes, ptrs := s.pointerBytes()
	revs := after.rev - before.rev
	t.Logf("etcd: %d table pointers, %d bytes of key and value each on average; %d revisions (%d acknowledged commits) grew the db in use by %d bytes, %d bytes per revision; db size %d bytes",
		ptrs, keyBytes/max(ptrs, 1), revs, r.Acked, after.inUse-before.inUse, (after.inUse-before.inUse)/max(revs, 1), after.size)
}

// mixedOp is one operation of the soak's mix: half loads, a fifth
// listings, the rest appends; each to the next replica in turn.
func (s *stack) mixedOp(w, i int, tables *rotation) {
	r := (w + i) % len(s.clients)
	slot := rand.IntN(tables.slots())
	id := tables.table(slot)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	switch n := rand.IntN(10); {
	case n < 5:
		_, _ = s.clients[r].LoadTable(ctx, id) // recorded by the transport
	case n < 7:
		for _, err := range s.clients[r].ListTables(ctx, id[:1]) {
			if err != nil {
				break
			}
		}
		_, _ = s.clients[r].ListNamespaces(ctx, nil)
	default:
		if s.appendOnce(r, id, fmt.Sprintf("w%d-%d", w, i), int64(i)) == nil {
			tables.acked(slot, id)
		}
	}
}

// rotation keeps the soak in a steady state: a table's metadata grows with
// every snapshot, so after rotateAfter appends a slot's table is replaced
// by a fresh one and dropped. Memory must then stay flat; without it, it
// would rightly grow with the metadata.
type rotation struct {
	s *stack

	mu      sync.Mutex
	ids     []table.Identifier
	gen     []int
	appends []int
	drops   int
}

const rotateAfter = 40

func newRotation(s *stack, n int) *rotation {
	ctx := context.Background()
	if err := s.clients[0].CreateNamespace(ctx, table.Identifier{"soak"}, nil); err != nil {
		s.t.Fatal(err)
	}
	r := &rotation{s: s, gen: make([]int, n), appends: make([]int, n)}
	for i := 0; i < n; i++ {
		r.ids = append(r.ids, r.create(i, 0))
	}
	return r
}

func (r *rotation) create(slot, gen int) table.Identifier {
	id := table.Identifier{"soak", fmt.Sprintf("t%d_g%d", slot, gen)}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if _, err := r.s.clients[gen%len(r.s.clients)].CreateTable(ctx, id, rowSchema); err != nil {
		r.s.t.Errorf("create %v: %v", id, err)
	}
	return id
}

func (r *rotation) slots() int { return len(r.ids) }

func (r *rotation) table(slot int) table.Identifier {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids[slot]
}

func (r *rotation) current() []table.Identifier {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]table.Identifier(nil), r.ids...)
}

func (r *rotation) dropped() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.drops
}

// acked counts an append to id; the appender that reaches rotateAfter
// replaces the slot's table (others keep using the old one until then).
func (r *rotation) acked(slot int, id table.Identifier) {
	r.mu.Lock()
	if r.ids[slot][1] != id[1] {
		r.mu.Unlock()
		return
	}
	r.appends[slot]++
	if r.appends[slot] < rotateAfter {
		r.mu.Unlock()
		return
	}
	r.gen[slot]++
	r.appends[slot] = 0
	gen := r.gen[slot]
	r.mu.Unlock()

	next := r.create(slot, gen)
	r.mu.Lock()
	r.ids[slot] = next
	r.drops++
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := r.s.clients[gen%len(r.s.clients)].DropTable(ctx, id); err != nil {
		r.s.t.Errorf("drop %v: %v", id, err)
	}
}

// runtimeStats reads each replica's goroutine count and live heap from its
// /metrics, to tell a leak (both keep growing) from GC slack.
func (s *stack) runtimeStats() string {
	var out []string
	for i, r := range s.replicas {
		resp, err := http.Get(r.Debug + "/metrics")
		if err != nil {
			out = append(out, fmt.Sprintf("replica %d: %v", i, err))
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var vals []string
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, "go_goroutines ") || strings.HasPrefix(line, "go_memstats_heap_inuse_bytes ") {
				vals = append(vals, line)
			}
		}
		out = append(out, fmt.Sprintf("replica %d: %s", i, strings.Join(vals, ", ")))
	}
	return strings.Join(out, "; ")
}

func (s *stack) rss() []int64 {
	s.t.Helper()
	out := make([]int64, len(s.replicas))
	for i, r := range s.replicas {
		v, err := testenv.RSSBytes(r.Proc().Pid())
		if err != nil {
			s.t.Fatal(err)
		}
		out[i] = v
	}
	return out
}

type etcdStatus struct{ rev, size, inUse int64 }

// etcdStatus reads the first member's revision and database size; every
// member holds the same data.
func (s *stack) etcdStatus() etcdStatus {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := s.etcdCli.Status(ctx, s.etcd.Endpoints()[0])
	if err != nil {
		s.t.Fatalf("etcd status: %v", err)
	}
	return etcdStatus{rev: st.Header.Revision, size: st.DbSize, inUse: st.DbSizeInUse}
}

// pointerBytes sums the key and value sizes of every table pointer.
func (s *stack) pointerBytes() (total, n int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := s.etcdCli.Get(ctx, "t/", clientv3.WithPrefix())
	if err != nil {
		s.t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		total += len(kv.Key) + len(kv.Value)
	}
	return total, len(resp.Kvs)
}
