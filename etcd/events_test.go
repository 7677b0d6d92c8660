package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/etcd"
)

// collect reads events after cur until it has n, or fails after a long
// deadline (a bound against a hang, not a timing assertion).
func collect(t *testing.T, feed ice.ChangeFeed, after ice.Cursor, n int) []ice.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out []ice.Event
	done := errors.New("done")
	err := feed.Watch(ctx, after, func(e ice.Event) error {
		out = append(out, e)
		if len(out) == n {
			return done
		}
		return nil
	})
	if !errors.Is(err, done) {
		t.Fatalf("watch ended after %d of %d events: %v", len(out), n, err)
	}
	return out
}

func as(ctx context.Context, who, op string) context.Context {
	return ice.WithAudit(ctx, ice.Audit{Principal: who, Operation: op})
}

// Every kind of change becomes exactly one event of the right type, with
// the principal written in its own Txn, ids made of revision and key, and
// a rename (one Txn) as one event.
func TestFeedClassifiesEveryChange(t *testing.T) {
	for _, catalog := range []string{"default", "prod"} {
		t.Run(catalog, func(t *testing.T) {
			cli := newClient(t)
			s := etcd.NewStore(cli, catalog)
			other := etcd.NewStore(cli, map[string]string{"default": "prod", "prod": "default"}[catalog])
			ctx := context.Background()
			head, err := s.Head(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ns := ice.Namespace{"sales"}
			id := ice.TableIdent{Namespace: ns, Name: "orders"}
			renamed := ice.TableIdent{Namespace: ns, Name: "orders2"}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(s.CreateNamespace(as(ctx, "token:admin", "createNamespace"), ns, map[string]string{"owner": "bi"}))
			// Another catalog on the same etcd: not in this feed.
			must(other.CreateNamespace(ctx, ice.Namespace{"elsewhere"}, nil))
			must(s.SwapTables(as(ctx, "token:etl", "createTable"), []ice.TableSwap{{ID: id, NewLocation: "s3://b/w/sales/orders/metadata/0.json"}}, nil))
			ptr, err := s.LoadTable(ctx, id)
			must(err)
			must(s.SwapTables(as(ctx, "token:etl", "updateTable"), []ice.TableSwap{{ID: id, Base: ptr, NewLocation: "s3://b/w/sales/orders/metadata/1.json"}}, nil))
			must(s.RenameTable(as(ctx, "token:etl", "renameTable"), id, renamed))
			ptr, err = s.LoadTable(ctx, renamed)
			must(err)
			d := ice.DeletedEntry{ID: "abc123", Kind: ice.KindTable, Namespace: ns, Name: renamed.Name,
				MetadataLocation: ptr.MetadataLocation, Location: "s3://b/w/sales/orders", Entry: ptr.Attrs}
			must(s.SoftDrop(as(ctx, "token:etl", "dropTable"), d, ptr.Revision))
			d, err = s.LoadDeleted(ctx, ns, "abc123")
			must(err)
			must(s.Undrop(as(ctx, "token:admin", "undrop"), d, id))
			ptr, err = s.LoadTable(ctx, id)
			must(err)
			must(s.DropTable(as(ctx, "token:etl", "dropTable"), id, ptr))
			must(s.SwapView(as(ctx, "token:bi", "createView"), ice.ViewSwap{ID: ice.TableIdent{Namespace: ns, Name: "v"}, NewLocation: "s3://b/w/sales/v/metadata/0.json"}))
			must(s.SwapTables(as(ctx, "token:etl", "registerTable"), []ice.TableSwap{{ID: ice.TableIdent{Namespace: ns, Name: "r"}, NewLocation: "s3://b/w/sales/r/metadata/0.json"}}, nil))
			must(s.ReplaceNamespaceProperties(as(ctx, "token:admin", "updateNamespaceProperties"), ns, map[string]string{"owner": "ops"}, mustNS(t, s, ns).Revision))

			want := []struct{ typ, ns, name, who string }{
				{ice.EventNamespaceCreated, "sales", "", "token:admin"},
				{ice.EventTableCreated, "sales", "orders", "token:etl"},
				{ice.EventTableCommitted, "sales", "orders", "token:etl"},
				{ice.EventTableRenamed, "sales", "orders2", "token:etl"},
				{ice.EventTableDropped, "sales", "orders2", "token:etl"},
				{ice.EventTableUndropped, "sales", "orders", "token:admin"},
				{ice.EventTableDropped, "sales", "orders", "token:etl"},
				{ice.EventViewCreated, "sales", "v", "token:bi"},
				{ice.EventTableRegistered, "sales", "r", "token:etl"},
				{ice.EventNamespaceUpdated, "sales", "", "token:admin"},
			}
			got := collect(t, s, ice.Cursor{Revision: head}, len(want))
			var prev int64
			for i, w := range want {
				e := got[i]
				if e.Type != w.typ || e.Namespace.String() != w.ns || e.Name != w.name || e.Data.Principal != w.who {
					t.Errorf("event %d = %s %s.%s by %q, want %s %s.%s by %q", i, e.Type, e.Namespace, e.Name, e.Data.Principal, w.typ, w.ns, w.name, w.who)
				}
				if e.Revision <= prev || !e.Last || e.Index != 1 {
					t.Errorf("event %d: revision %d (previous %d), index %d, last %v: want one event per revision, in order", i, e.Revision, prev, e.Index, e.Last)
				}
				prev = e.Revision
				if e.ID != fmt.Sprintf("%d-%s", e.Revision, keyOf(e)) {
					t.Errorf("event %d: id %q is not revision-key", i, e.ID)
				}
				if e.Time.IsZero() {
					t.Errorf("event %d has no time", i)
				}
			}
			if r := got[3]; r.Data.FromName != "orders" || r.Data.MetadataLocation != "s3://b/w/sales/orders/metadata/1.json" {
				t.Errorf("rename: from %q, location %q", r.Data.FromName, r.Data.MetadataLocation)
			}
			if c := got[2]; c.Data.PreviousMetadataLocation != "s3://b/w/sales/orders/metadata/0.json" {
				t.Errorf("commit: previous location %q", c.Data.PreviousMetadataLocation)
			}
			if sd := got[4]; !sd.Data.Soft || sd.Data.DeletedID != "abc123" {
				t.Errorf("soft drop: soft=%v id=%q", sd.Data.Soft, sd.Data.DeletedID)
			}
			if ud := got[5]; ud.Data.FromName != "orders2" || ud.Data.DeletedID != "abc123" {
				t.Errorf("undrop under a new name: from %q, id %q", ud.Data.FromName, ud.Data.DeletedID)
			}
			if hd := got[6]; hd.Data.Soft {
				t.Error("a hard drop is reported as soft")
			}
			// Redelivery from the same cursor gives the same ids.
			again := collect(t, s, ice.Cursor{Revision: head}, len(want))
			for i := range again {
				if again[i].ID != got[i].ID || !again[i].Time.Equal(got[i].Time) {
					t.Errorf("event %d redelivered as %s at %v, first %s at %v", i, again[i].ID, again[i].Time, got[i].ID, got[i].Time)
				}
			}
		})
	}
}

func keyOf(e ice.Event) string {
	switch e.Type {
	case ice.EventNamespaceCreated, ice.EventNamespaceUpdated, ice.EventNamespaceDropped:
		return "n/" + e.Namespace.Path()
	case ice.EventViewCreated:
		return "v/" + e.Namespace.Path() + "/" + e.Name
	}
	return "t/" + e.Namespace.Path() + "/" + e.Name
}

func mustNS(t *testing.T, s *etcd.Store, ns ice.Namespace) ice.NamespaceEntry {
	t.Helper()
	e, err := s.LoadNamespace(context.Background(), ns)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// A maintenance run's record and the purge of a deleted record are events
// of their own.
func TestFeedMaintenanceAndPurge(t *testing.T) {
	cli := newClient(t)
	s := etcd.NewStore(cli, "default")
	ctx := context.Background()
	ns := ice.Namespace{"m"}
	if err := s.CreateNamespace(ctx, ns, nil); err != nil {
		t.Fatal(err)
	}
	id := ice.TableIdent{Namespace: ns, Name: "t"}
	if err := s.SwapTables(ctx, []ice.TableSwap{{ID: id, NewLocation: "file:///w/m/t/0.json"}}, nil); err != nil {
		t.Fatal(err)
	}
	ptr, _ := s.LoadTable(ctx, id)
	if err := s.SoftDrop(ctx, ice.DeletedEntry{ID: "d1", Kind: ice.KindTable, Namespace: ns, Name: "t", MetadataLocation: ptr.MetadataLocation, Entry: ptr.Attrs}, ptr.Revision); err != nil {
		t.Fatal(err)
	}
	head, _ := s.Head(ctx)
	d, _ := s.LoadDeleted(ctx, ns, "d1")
	mctx := as(ctx, "maintenance", "maintenance")
	if err := s.ForgetDeleted(mctx, d); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordMaintenanceRun(mctx, ice.MaintenanceRun{Leader: "h:1", Outcome: "ok", Purged: 1}); err != nil {
		t.Fatal(err)
	}
	got := collect(t, s, ice.Cursor{Revision: head}, 2)
	if got[0].Type != ice.EventTablePurged || got[0].Name != "t" || got[0].Data.DeletedID != "d1" || got[0].Data.Principal != "maintenance" {
		t.Errorf("purge event %+v", got[0])
	}
	if got[1].Type != ice.EventMaintenanceRun || got[1].Data.Maintenance == nil || got[1].Data.Maintenance.Purged != 1 {
		t.Errorf("maintenance event %+v", got[1])
	}
}

// A multi-table commit is one revision with one event per table; a cursor
// inside it (revision.index) resumes after the events already consumed.
func TestFeedCursorInsideARevision(t *testing.T) {
	cli := newClient(t)
	s := etcd.NewStore(cli, "default")
	ctx := context.Background()
	ns := ice.Namespace{"a"}
	if err := s.CreateNamespace(ctx, ns, nil); err != nil {
		t.Fatal(err)
	}
	head, _ := s.Head(ctx)
	var swaps []ice.TableSwap
	for i := range 3 {
		swaps = append(swaps, ice.TableSwap{ID: ice.TableIdent{Namespace: ns, Name: fmt.Sprintf("t%d", i)}, NewLocation: fmt.Sprintf("file:///w/a/t%d/m.json", i)})
	}
	if err := s.SwapTables(as(ctx, "p", "commitTransaction"), swaps, nil); err != nil {
		t.Fatal(err)
	}
	all := collect(t, s, ice.Cursor{Revision: head}, 3)
	for i, e := range all {
		if e.Revision != all[0].Revision || e.Index != i+1 || e.Last != (i == 2) {
			t.Fatalf("event %d: revision %d index %d last %v", i, e.Revision, e.Index, e.Last)
		}
	}
	if c := all[0].Cursor().String(); c != fmt.Sprintf("%d.1", all[0].Revision) {
		t.Fatalf("cursor of the first event = %s", c)
	}
	rest := collect(t, s, all[0].Cursor(), 2)
	if rest[0].ID != all[1].ID || rest[1].ID != all[2].ID {
		t.Fatalf("resumed at %s, %s; want %s, %s", rest[0].ID, rest[1].ID, all[1].ID, all[2].ID)
	}
	if c, err := ice.ParseCursor(all[2].Cursor().String()); err != nil || c != (ice.Cursor{Revision: all[2].Revision}) {
		t.Fatalf("cursor of the last event = %v, %v", c, err)
	}
}

// A cursor older than etcd's compaction gets an error naming the revision
// to resync from, both from Check (before a stream starts) and Watch.
func TestFeedCompactedCursor(t *testing.T) {
	cli := newClient(t)
	s := etcd.NewStore(cli, "default")
	ctx := context.Background()
	for i := range 5 {
		if err := s.CreateNamespace(ctx, ice.Namespace{fmt.Sprintf("n%d", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	head, _ := s.Head(ctx)
	if _, err := cli.Compact(ctx, head); err != nil {
		t.Fatal(err)
	}
	var ce *ice.CursorCompactedError
	if err := s.Check(ctx, ice.Cursor{Revision: 1}); !errors.As(err, &ce) || ce.Resync != head || ice.ErrorCode(err) != ice.EGONE {
		t.Fatalf("Check(1) = %v, want a compaction error naming %d", err, head)
	}
	err := s.Watch(ctx, ice.Cursor{Revision: 1}, func(ice.Event) error { return nil })
	if !errors.As(err, &ce) || ce.Resync != head {
		t.Fatalf("Watch(1) = %v", err)
	}
	if err := s.Check(ctx, ice.Cursor{Revision: head}); err != nil {
		t.Fatalf("Check(head) = %v", err)
	}
	if err := s.Check(ctx, ice.Cursor{Revision: head + 5}); ice.ErrorCode(err) != ice.EINVALID {
		t.Fatalf("Check(future) = %v, want EINVALID", err)
	}
}

// Concurrent soft drops, undrops and creates of one name never lose the
// table or leave two: at the end there is exactly one entry or one deleted
// record per table ever created.
func TestConcurrentDropUndropCreate(t *testing.T) {
	cli := newClient(t)
	s := etcd.NewStore(cli, "default")
	ctx := context.Background()
	ns := ice.Namespace{"race"}
	if err := s.CreateNamespace(ctx, ns, nil); err != nil {
		t.Fatal(err)
	}
	id := ice.TableIdent{Namespace: ns, Name: "t"}
	var mu sync.Mutex
	created := map[string]bool{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				switch (w + i) % 3 {
				case 0: // create
					loc := fmt.Sprintf("file:///w/race/t/%d-%d.json", w, i)
					if s.SwapTables(ctx, []ice.TableSwap{{ID: id, NewLocation: loc}}, nil) == nil {
						mu.Lock()
						created[loc] = true
						mu.Unlock()
					}
				case 1: // soft drop
					ptr, err := s.LoadTable(ctx, id)
					if err != nil {
						continue
					}
					_ = s.SoftDrop(ctx, ice.DeletedEntry{ID: fmt.Sprintf("%d-%d", w, i), Kind: ice.KindTable, Namespace: ns, Name: "t",
						MetadataLocation: ptr.MetadataLocation, Entry: ptr.Attrs}, ptr.Revision)
				case 2: // undrop any
					ds, err := s.ListDeleted(ctx, ns)
					if err != nil || len(ds) == 0 {
						continue
					}
					d, err := s.LoadDeleted(ctx, ns, ds[i%len(ds)].ID)
					if err != nil {
						continue
					}
					_ = s.Undrop(ctx, d, id)
				}
			}
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	if ptr, err := s.LoadTable(ctx, id); err == nil {
		seen[ptr.MetadataLocation]++
	} else if ice.ErrorCode(err) != ice.ENOTFOUND {
		t.Fatal(err)
	}
	ds, err := s.ListDeleted(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		seen[d.MetadataLocation]++
	}
	if len(created) == 0 {
		t.Fatal("no create succeeded")
	}
	for loc := range created {
		if seen[loc] != 1 {
			t.Errorf("table %s is held %d times (entry or deleted record), want exactly once", loc, seen[loc])
		}
	}
	for loc, n := range seen {
		if !created[loc] {
			t.Errorf("%s (%d) was never created", loc, n)
		}
	}
}
