package warehouse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// encodeMetadata encodes md on base as a commit's write does.
func encodeMetadata(md table.Metadata, base *Metadata) ([]byte, encodedSnapshots, error) {
	return encodeDraft(newDraft(md, base))
}

// commitChain builds a table of format version v and appends n snapshots
// to it one commit at a time, as the catalog would, encoding each result
// on the previous one; it returns each step's model and encoding.
func commitChain(t *testing.T, v string, n int) ([]table.Metadata, []*Metadata) {
	t.Helper()
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})
	md, err := table.NewMetadata(sc, iceberg.UnpartitionedSpec, table.UnsortedSortOrder, "s3://b/t",
		iceberg.Properties{"format-version": v, "k": "<&>"})
	if err != nil {
		t.Fatal(err)
	}
	var mds []table.Metadata
	var files []*Metadata
	var base *Metadata
	for i := 0; ; i++ {
		raw, snaps, err := encodeMetadata(md, base)
		if err != nil {
			t.Fatal(err)
		}
		base = &Metadata{MetadataFile: MetadataFile{Raw: raw}, Parsed: md, snapshots: snaps}
		mds, files = append(mds, md), append(files, base)
		if i == n {
			return mds, files
		}
		snap := table.Snapshot{SnapshotID: int64(100 + i), SequenceNumber: int64(i + 1), TimestampMs: time.Now().UnixMilli() + int64(i),
			ManifestList: fmt.Sprintf("s3://b/t/metadata/snap-%d.avro", i), Summary: &table.Summary{Operation: table.OpAppend, Properties: map[string]string{"added-records": "<1>"}}}
		ups := table.Updates{table.NewAddSnapshotUpdate(&snap), table.NewSetSnapshotRefUpdate(table.MainBranch, snap.SnapshotID, table.BranchRef, -1, -1, -1)}
		if v == "3" {
			first, added := md.NextRowID(), int64(10)
			snap.FirstRowID, snap.AddedRows = &first, &added
		}
		if v != "1" && i > 0 {
			parent := int64(100 + i - 1)
			snap.ParentSnapshotID = &parent
		}
		if i == 3 { // expiry removes from the middle of the list
			ups = append(ups, table.NewRemoveSnapshotsUpdate([]int64{101}, false))
		}
		if md, err = table.UpdateTableMetadata(md, ups, fmt.Sprintf("s3://b/t/metadata/%05d.metadata.json", i)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEncodeMetadataMatchesJSONMarshal(t *testing.T) {
	for _, v := range []string{"1", "2", "3"} {
		mds, files := commitChain(t, v, 6)
		for i, md := range mds {
			want, err := json.Marshal(md)
			if err != nil {
				t.Fatal(err)
			}
			if got := files[i].Raw; !bytes.Equal(got, want) {
				t.Fatalf("format %s, commit %d: encodeMetadata differs from json.Marshal\n got %s\nwant %s", v, i, got, want)
			}
			if _, err := table.ParseMetadataBytes(files[i].Raw); err != nil {
				t.Errorf("format %s, commit %d: encoded metadata does not parse back: %v", v, i, err)
			}
			if n := len(md.Snapshots()); len(files[i].snapshots) != n {
				t.Errorf("format %s, commit %d: %d encoded snapshots kept for %d snapshots", v, i, len(files[i].snapshots), n)
			}
		}
	}
}

// TestEncodeMetadataReusesOnlyUnchangedSnapshots: a snapshot the base holds
// unchanged is copied from the base's encoding (a marker put there shows
// up), one that differs is encoded afresh.
func TestEncodeMetadataReusesOnlyUnchangedSnapshots(t *testing.T) {
	mds, files := commitChain(t, "2", 3)
	base := files[2]
	marked := &Metadata{MetadataFile: MetadataFile{Raw: base.Raw}, Parsed: base.Parsed, snapshots: encodedSnapshots{}}
	for id := range base.snapshots {
		marked.snapshots[id] = []byte(fmt.Sprintf(`{"reused":%d}`, id))
	}
	raw, _, err := encodeMetadata(mds[3], marked)
	if err != nil {
		t.Fatal(err)
	}
	for id := range base.snapshots {
		if !bytes.Contains(raw, []byte(fmt.Sprintf(`{"reused":%d}`, id))) {
			t.Errorf("snapshot %d, unchanged in the base, was encoded again", id)
		}
	}
	// Encodings kept for snapshots the base's model does not hold (as
	// after a failed swap, or a mix-up) are never used.
	marked.Parsed = mds[0]
	raw, _, err = encodeMetadata(mds[3], marked)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := json.Marshal(mds[3]); !bytes.Equal(raw, want) {
		t.Errorf("snapshots the base does not hold were copied from its encodings:\n%s", raw)
	}
}
