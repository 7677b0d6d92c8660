//go:build faults

package faults_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/etcd"
)

// feedLog is a consumer of the change feed (docs/events.md) that follows
// the whole scenario straight from the etcd cluster, resuming from its
// cursor whenever the watch breaks (a member killed or stopped).
type feedLog struct {
	mu     sync.Mutex
	events []ice.Event
	count  map[string]int
}

func followFeed(t *testing.T, store *etcd.Store) *feedLog {
	f := &feedLog{count: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		var cur ice.Cursor
		for ctx.Err() == nil {
			_ = store.Watch(ctx, cur, func(e ice.Event) error {
				f.mu.Lock()
				if f.count[e.ID] == 0 {
					f.events = append(f.events, e)
				}
				f.count[e.ID]++
				f.mu.Unlock()
				cur = e.Cursor()
				return nil
			})
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

// eventCounts is the events column of docs/reliability.md.
type eventCounts struct{ expected, delivered, duplicated, missed int }

// checkEvents compares the feed with the final tables: every table's
// events must be its create and one commit per snapshot on main (the load
// only appends), each once, and chained: each commit's previous location
// is the location of the event before it, and the last is the pointer in
// etcd now. It waits (bounded) for the feed to reach the final pointers.
func (s *stack) checkEvents(f *feedLog, chains map[string]int) eventCounts {
	s.t.Helper()
	ctx := context.Background()
	final := map[string]string{}
	for name := range chains {
		resp, err := s.etcdCli.Get(ctx, "t/"+strings.ReplaceAll(name, ".", "/"))
		if err != nil || len(resp.Kvs) == 0 {
			s.t.Fatalf("final pointer of %s: %v", name, err)
		}
		ptr, _ := decodeLocation(resp.Kvs[0].Value)
		final[name] = ptr
	}
	perTable := func() map[string][]ice.Event {
		f.mu.Lock()
		defer f.mu.Unlock()
		out := map[string][]ice.Event{}
		for _, e := range f.events {
			name := e.Namespace.String() + "." + e.Name
			if _, ok := chains[name]; ok && (e.Type == ice.EventTableCreated || e.Type == ice.EventTableCommitted) {
				out[name] = append(out[name], e)
			}
		}
		return out
	}
	deadline := time.Now().Add(60 * time.Second) // a bound against a hang only
	var evs map[string][]ice.Event
	for {
		evs = perTable()
		caught := true
		for name, loc := range final {
			es := evs[name]
			if len(es) == 0 || es[len(es)-1].Data.MetadataLocation != loc {
				caught = false
			}
		}
		if caught || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var c eventCounts
	for name, n := range chains {
		es := evs[name]
		c.expected += n + 1
		c.delivered += len(es)
		if len(es) < n+1 {
			c.missed += n + 1 - len(es)
		}
		for i, e := range es {
			if i == 0 && e.Type != ice.EventTableCreated {
				s.t.Errorf("%s: first event is %s, not the create", name, e.Type)
			}
			if i > 0 && e.Data.PreviousMetadataLocation != es[i-1].Data.MetadataLocation {
				s.t.Errorf("%s: event %s follows %s but names %s as previous: an event is missing or out of order",
					name, e.ID, es[i-1].Data.MetadataLocation, e.Data.PreviousMetadataLocation)
			}
		}
		if len(es) > 0 && es[len(es)-1].Data.MetadataLocation != final[name] {
			s.t.Errorf("%s: the last event names %s, the pointer is %s", name, es[len(es)-1].Data.MetadataLocation, final[name])
		}
		if len(es) != n+1 {
			s.t.Errorf("%s: %d events, want the create and %d commits", name, len(es), n)
		}
	}
	f.mu.Lock()
	for id, k := range f.count {
		if k > 1 {
			c.duplicated += k - 1
			s.t.Errorf("event %s delivered %d times", id, k)
		}
	}
	f.mu.Unlock()
	return c
}

func (c eventCounts) String() string {
	return fmt.Sprintf("%d / %d / %d / %d", c.expected, c.delivered, c.duplicated, c.missed)
}

// decodeLocation reads metadata_location from a table entry.
func decodeLocation(v []byte) (string, error) {
	var m map[string]string
	if err := json.Unmarshal(v, &m); err != nil {
		return "", err
	}
	return m["metadata_location"], nil
}
