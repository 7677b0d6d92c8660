package service_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/service"
)

// A commit that etcd applied, whose answer was lost, and on top of which
// another commit landed before the server re-read the pointer: the pointer
// moved, but our commit is in the table's history. It must be answered as
// applied; neither a 409 (a client would think it absent) nor a retry (it
// would apply twice).
func TestLostAnswerOfAnAppliedCommitFollowedByAnotherIsSuccess(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other := service.New(service.Config{Store: f.store.Store, Warehouse: mustWarehouse(t, f.dir)})
	f.store.apply, f.store.faults = true, 1
	f.store.beforeLoss = func() {
		if _, _, err := other.CommitTable(ctx, setProp("b", "2"), nil); err != nil {
			t.Errorf("concurrent commit: %v", err)
		}
	}
	base, err := f.svc.LoadTable(ctx, f.id)
	if err != nil {
		t.Fatal(err)
	}
	// Like an engine's append: it asserts the base it built on, so a retry
	// on a newer base would fail its requirement.
	change := service.TableChange{ID: f.id,
		Requirements: table.Requirements{table.AssertTableUUID(base.Metadata.Parsed.TableUUID()),
			table.AssertLastAssignedFieldID(base.Metadata.Parsed.LastColumnID())},
		Updates: table.Updates{table.NewSetPropertiesUpdate(iceberg.Properties{"a": "1"})}}
	if _, _, err := f.svc.CommitTable(ctx, change, nil); err != nil {
		t.Fatalf("commit answered %v (code %s), but it was applied", err, ice.ErrorCode(err))
	}
	cur, err := f.svc.LoadTable(ctx, f.id)
	if err != nil {
		t.Fatal(err)
	}
	if p := cur.Metadata.Parsed.Properties(); p["a"] != "1" || p["b"] != "2" {
		t.Fatalf("properties %v: both commits must be present", p)
	}
	checkLog(t, f, base, cur, 2)
}

// checkLog checks that cur is commits commits after base, and that every
// metadata file in cur's log still exists: a file the history references
// must never be deleted as if it were unreferenced.
func checkLog(t *testing.T, f *fixture, base, cur *service.Table, commits int) {
	t.Helper()
	var log []string
	for e := range cur.Metadata.Parsed.PreviousFiles() {
		log = append(log, e.MetadataFile)
	}
	var baseLog int
	for range base.Metadata.Parsed.PreviousFiles() {
		baseLog++
	}
	if len(log) != baseLog+commits {
		t.Errorf("metadata log %v has %d entries after %d commits on a base with %d: a commit applied twice or not at all", log, len(log), commits, baseLog)
	}
	for _, loc := range log {
		if _, err := os.Stat(strings.TrimPrefix(loc, "file://")); err != nil {
			t.Errorf("the history references %s, which is gone: %v", loc, err)
		}
	}
}

// The same, but our commit was not applied: the pointer moved to another
// commit's file. The commit is retried on the new base and succeeds.
func TestLostAnswerOfAnUnappliedCommitAfterAnotherRetries(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other := service.New(service.Config{Store: f.store.Store, Warehouse: mustWarehouse(t, f.dir)})
	f.store.faults = 1
	f.store.beforeLoss = func() {
		if _, _, err := other.CommitTable(ctx, setProp("b", "2"), nil); err != nil {
			t.Errorf("concurrent commit: %v", err)
		}
		if _, _, err := other.CommitTable(ctx, setProp("c", "3"), nil); err != nil {
			t.Errorf("concurrent commit: %v", err)
		}
	}
	base, err := f.svc.LoadTable(ctx, f.id)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.CommitTable(ctx, setProp("a", "1"), nil); err != nil {
		t.Fatalf("commit: %v", err)
	}
	cur, err := f.svc.LoadTable(ctx, f.id)
	if err != nil {
		t.Fatal(err)
	}
	if p := cur.Metadata.Parsed.Properties(); p["a"] != "1" || p["b"] != "2" || p["c"] != "3" {
		t.Fatalf("properties %v: all three commits must be present", p)
	}
	checkLog(t, f, base, cur, 3)
}
