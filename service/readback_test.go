package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/service"
)

// TestCommitNeverWritesUnreadableMetadata: two add-snapshot updates without
// a parent, the second with a lower sequence number, pass iceberg-go's
// builder but give metadata whose last-sequence-number is below a
// snapshot's. Readers reject such a file, so the commit must be refused
// with a 400 and the table must stay loadable at its previous state.
func TestCommitNeverWritesUnreadableMetadata(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	addSnapshot := func(id, seq int64) error {
		snap := table.Snapshot{SnapshotID: id, SequenceNumber: seq, TimestampMs: time.Now().UnixMilli() + id,
			ManifestList: f.dir + "/db/t/metadata/snap.avro", Summary: &table.Summary{Operation: table.OpAppend}}
		_, _, err := f.svc.CommitTable(ctx, service.TableChange{ID: f.id, Updates: table.Updates{table.NewAddSnapshotUpdate(&snap)}}, nil)
		return err
	}
	if err := addSnapshot(10, 2); err != nil {
		t.Fatalf("first add-snapshot: %v", err)
	}
	before, err := f.svc.LoadTable(ctx, f.id)
	if err != nil {
		t.Fatal(err)
	}
	err = addSnapshot(11, 1)
	if ice.ErrorCode(err) != ice.EINVALID {
		t.Fatalf("add-snapshot with a sequence number below the table's: %v, want EINVALID", err)
	}
	after, err := f.svc.LoadTable(ctx, f.id)
	if err != nil {
		t.Fatalf("the table no longer loads: %v", err)
	}
	if after.Location != before.Location || len(after.Metadata.Parsed.Snapshots()) != 1 {
		t.Fatalf("the refused commit changed the table: %s -> %s, %d snapshots", before.Location, after.Location, len(after.Metadata.Parsed.Snapshots()))
	}
}
