package service

import (
	"fmt"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	ice "github.com/ice-rest-catalog/ice"
)

// BenchmarkCheckTableFiles is the confinement check's cost on the commit
// path: an append to a table with 100 snapshots, checked against the whole
// metadata and (what a commit that keeps its location does) by its updates.
func BenchmarkCheckTableFiles(b *testing.B) {
	loc := "s3://lake/wh/ns/t"
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})
	md, err := table.NewMetadata(sc, iceberg.UnpartitionedSpec, table.UnsortedSortOrder, loc, nil)
	if err != nil {
		b.Fatal(err)
	}
	add := func(md table.Metadata, id int64) table.Metadata {
		out, err := table.UpdateTableMetadata(md, table.Updates{
			table.NewAddSnapshotUpdate(&table.Snapshot{SnapshotID: id, SequenceNumber: id, TimestampMs: md.LastUpdatedMillis() + 1,
				ManifestList: fmt.Sprintf("%s/metadata/snap-%d.avro", loc, id), Summary: &table.Summary{Operation: table.OpAppend}}),
		}, "")
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	for i := int64(1); i <= 100; i++ {
		md = add(md, i)
	}
	next := add(md, 101)
	l, _ := ice.ParseLocation(loc)
	newLoc := loc + "/metadata/00101-x.metadata.json"
	updates := table.Updates{table.NewAddSnapshotUpdate(next.SnapshotByID(101)),
		table.NewSetSnapshotRefUpdate(table.MainBranch, 101, table.BranchRef, -1, -1, -1)}
	b.Run("whole", func(b *testing.B) { // a create, or a new location
		b.ReportAllocs()
		for b.Loop() {
			if err := checkTableFiles(l, next, md, newLoc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("updates", func(b *testing.B) { // a commit that keeps the location
		b.ReportAllocs()
		for b.Loop() {
			if err := checkUpdates(l, updates, newLoc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
