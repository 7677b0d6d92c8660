package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/warehouse"
)

// FuzzApplyUpdates decodes a commit's updates as the API does, applies them
// with iceberg-go to a table's metadata and to no table (a create), and
// writes the result as a commit does. Whatever the updates, the result is
// an error, or a written file that reads back: a file the catalog writes
// must never be one it cannot load afterwards. iceberg-go's builder alone
// does not promise that (an empty set-location passes it), so the write
// path refuses what readers would reject.
func FuzzApplyUpdates(f *testing.F) {
	for _, s := range []string{
		`[{"action":"set-properties","updates":{"a":"b"}}]`,
		`[{"action":"remove-properties","removals":["a"]}]`,
		`[{"action":"add-snapshot","snapshot":{"snapshot-id":7,"timestamp-ms":1,"manifest-list":"file:///w/m.avro","summary":{"operation":"append"}}},{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":7}]`,
		`[{"action":"add-schema","schema":{"type":"struct","schema-id":1,"fields":[{"id":1,"name":"id","type":"long","required":true},{"id":2,"name":"x","type":"string","required":false}]}},{"action":"set-current-schema","schema-id":-1}]`,
		`[{"action":"upgrade-format-version","format-version":3}]`,
		`[{"action":"assign-uuid","uuid":"9c12d441-03fe-4693-9a96-a0705ddf69c1"},{"action":"set-location","location":"file:///w/t"}]`,
		`[{"action":"remove-snapshots","snapshot-ids":[1]}]`, `[{"action":"set-snapshot-ref","ref-name":"b","type":"tag","snapshot-id":99}]`,
		`[{"action":"add-snapshot","snapshot":{"snapshot-id":8,"sequence-number":5,"timestamp-ms":4102444800000,"manifest-list":"file:///w/m.avro","summary":{"operation":"append"}}},{"action":"add-snapshot","snapshot":{"snapshot-id":9,"sequence-number":3,"timestamp-ms":4102444800001,"manifest-list":"file:///w/m.avro","summary":{"operation":"append"}}}]`,
		`[{"action":"set-statistics","snapshot-id":1,"statistics":{"snapshot-id":1,"statistics-path":"file:///w/s.puffin","file-size-in-bytes":10,"file-footer-size-in-bytes":4,"blob-metadata":[]}}]`,
	} {
		f.Add([]byte(s))
	}
	schema := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})
	base, err := table.NewMetadata(schema, iceberg.UnpartitionedSpec, table.UnsortedSortOrder, "file:///w/t", nil)
	if err != nil {
		f.Fatal(err)
	}
	// A second base with a snapshot on main: the path most commits take
	// (appends and expiry) starts from a table that has history.
	withSnapshot, err := table.UpdateTableMetadata(base, table.Updates{
		table.NewAddSnapshotUpdate(&table.Snapshot{SnapshotID: 1, SequenceNumber: 1, TimestampMs: base.LastUpdatedMillis(), ManifestList: "file:///w/m.avro", Summary: &table.Summary{Operation: table.OpAppend}}),
		table.NewSetSnapshotRefUpdate(table.MainBranch, 1, table.BranchRef, -1, -1, -1),
	}, "")
	if err != nil {
		f.Fatal(err)
	}
	const baseLoc = "file:///w/t/metadata/00000-9c12d441-03fe-4693-9a96-a0705ddf69c1.metadata.json"
	dir := f.TempDir()
	wh, err := warehouse.Open(context.Background(), warehouse.Config{Location: "file://" + dir})
	if err != nil {
		f.Fatal(err)
	}
	target := "file://" + dir + "/t/metadata/fuzz.metadata.json"
	// The bases as a commit finds them: files this catalog wrote.
	var bases []*warehouse.Metadata
	for i, md := range []table.Metadata{base, withSnapshot} {
		written, err := wh.WriteMetadata(context.Background(), fmt.Sprintf("file://%s/t/metadata/base-%d.metadata.json", dir, i), md, nil)
		if err != nil {
			f.Fatal(err)
		}
		bases = append(bases, written)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var ups table.Updates
		if json.Unmarshal(body, &ups) != nil {
			return
		}
		for _, b := range append(bases, nil) {
			loc := ""
			var bmd table.Metadata
			if b != nil {
				loc, bmd = baseLoc, b.Parsed
			}
			md, err := applyUpdates(bmd, loc, ups)
			if err != nil {
				continue
			}
			want, err := json.Marshal(md)
			if err != nil {
				t.Fatalf("updates %s: the result does not encode: %v", body, err)
			}
			written, err := wh.WriteMetadata(context.Background(), target, md, b)
			if err != nil {
				continue // refused: nothing was written
			}
			want = warehouse.WithEmptyLists(want) // what every written file holds
			if !bytes.Equal(written.Raw, want) {
				t.Fatalf("updates %s: the written file differs from json.Marshal's encoding\n got %s\nwant %s", body, written.Raw, want)
			}
			if _, err := table.ParseMetadataBytes(written.Raw); err != nil {
				t.Fatalf("updates %s: the written file does not read back: %v\n%s", body, err, written.Raw)
			}
			if _, err := newMetadataLocation(md, loc); err != nil && b != nil {
				t.Logf("updates %s: no metadata location: %v", body, err)
			}
		}
	})
}
