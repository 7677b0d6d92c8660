package warehouse

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/twmb/avro"
	"github.com/twmb/avro/ocf"

	ice "github.com/ice-rest-catalog/ice"
)

var normSchema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
	iceberg.NestedField{ID: 2, Name: "region", Type: iceberg.PrimitiveTypes.String, Required: true},
)

// normEnv is a file:// table partitioned by region, and a way to write a
// snapshot's manifest and manifest list as ClickHouse 26.7 does.
type normEnv struct {
	wh   *Warehouse
	loc  string
	spec iceberg.PartitionSpec
	md   table.Metadata
}

func newNormEnv(t *testing.T) *normEnv {
	t.Helper()
	dir := t.TempDir()
	wh, err := Open(context.Background(), Config{Location: "file://" + dir})
	if err != nil {
		t.Fatal(err)
	}
	spec := iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "region", Transform: iceberg.IdentityTransform{}})
	loc := "file://" + dir + "/ns/t"
	md, err := table.NewMetadata(normSchema, &spec, table.UnsortedSortOrder, loc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "ns", "t", "metadata"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &normEnv{wh: wh, loc: loc, spec: md.PartitionSpec(), md: md}
}

type chFlaws struct {
	dropKeys   []string // header keys to leave out
	specIDKey  string   // "partition_spec_id" value, as ClickHouse names it
	noFieldIDs bool
	format     string // file_format value instead of PARQUET
}

// manifest writes a one-entry manifest for snapshot snapID with iceberg-go
// and gives it ClickHouse's flaws.
func (e *normEnv) manifest(t *testing.T, name string, snapID int64, f chFlaws) iceberg.ManifestFile {
	t.Helper()
	df, err := iceberg.NewDataFileBuilder(e.spec, iceberg.EntryContentData, e.loc+"/data/"+name+".parquet", iceberg.ParquetFile,
		map[int]any{1000: "eu"}, nil, nil, 3, 100)
	if err != nil {
		t.Fatal(err)
	}
	entry := iceberg.NewManifestEntryBuilder(iceberg.EntryStatusADDED, &snapID, df.Build()).Build()
	var buf bytes.Buffer
	path := e.loc + "/metadata/" + name + ".avro"
	if _, err := iceberg.WriteManifest(path, &buf, 2, e.spec, normSchema, snapID, []iceberg.ManifestEntry{entry}); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	if f.format != "" {
		raw = reencode(t, raw, func(r map[string]any) { r["data_file"].(map[string]any)["file_format"] = f.format })
	}
	h, err := readOCFHeader(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range f.dropKeys {
		delete(h.meta, k)
	}
	if f.specIDKey != "" {
		h.meta["partition_spec_id"] = []byte(f.specIDKey)
	}
	if f.noFieldIDs {
		h.meta["avro.schema"] = stripFieldIDs(h.meta["avro.schema"])
	}
	var out bytes.Buffer
	writeOCFHeader(&out, h.meta, h.sync)
	out.Write(raw[h.size:])
	e.write(t, path, out.Bytes())
	return iceberg.NewManifestFile(2, path, int64(out.Len()), int32(e.spec.ID()), snapID).
		SequenceNum(1, 1).AddedFiles(1).AddedRows(3).Build()
}

func (e *normEnv) write(t *testing.T, location string, data []byte) {
	t.Helper()
	if err := os.WriteFile(strings.TrimPrefix(location, "file://"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (e *normEnv) read(t *testing.T, location string) []byte {
	t.Helper()
	b, err := os.ReadFile(strings.TrimPrefix(location, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// snapshot writes the manifest list of files for snapshot snapID and
// returns the snapshot, applied to the table's metadata.
func (e *normEnv) snapshot(t *testing.T, snapID int64, files ...iceberg.ManifestFile) (table.Metadata, table.Snapshot) {
	t.Helper()
	var buf bytes.Buffer
	seq := int64(1)
	if err := iceberg.WriteManifestList(2, &buf, snapID, nil, &seq, 0, files); err != nil {
		t.Fatal(err)
	}
	list := e.loc + "/metadata/snap-" + t.Name() + ".avro"
	list = strings.ReplaceAll(list, "/snap-"+t.Name(), "/snap-"+strings.ReplaceAll(t.Name(), "/", "_"))
	e.write(t, list, buf.Bytes())
	schemaID := 0
	snap := table.Snapshot{SnapshotID: snapID, SequenceNumber: 1, TimestampMs: e.md.LastUpdatedMillis() + 1, ManifestList: list,
		Summary: &table.Summary{Operation: table.OpAppend}, SchemaID: &schemaID}
	md, err := table.UpdateTableMetadata(e.md, table.Updates{table.NewAddSnapshotUpdate(&snap)}, "")
	if err != nil {
		t.Fatal(err)
	}
	return md, snap
}

func reencode(t *testing.T, raw []byte, edit func(map[string]any)) []byte {
	t.Helper()
	rd, err := ocf.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string][]byte{}
	for k, v := range rd.Metadata() {
		if !strings.HasPrefix(k, "avro.") {
			meta[k] = v
		}
	}
	sc, err := avro.Parse(string(rd.Metadata()["avro.schema"]))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := ocf.NewWriter(&out, sc, ocf.WithMetadata(meta))
	if err != nil {
		t.Fatal(err)
	}
	for {
		var r any
		if err := rd.Decode(&r); err != nil {
			break
		}
		edit(r.(map[string]any))
		if err := w.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func stripFieldIDs(schema []byte) []byte {
	s := string(schema)
	for _, k := range []string{`"field-id"`, `"element-id"`} {
		for {
			i := strings.Index(s, k)
			if i < 0 {
				break
			}
			j := i + len(k) + 1 // the ':'
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == ' ') {
				j++
			}
			if j < len(s) && s[j] == ',' {
				j++
			} else if i > 0 && s[i-1] == ',' {
				i--
			}
			s = s[:i] + s[j:]
		}
	}
	return []byte(s)
}

// readBack reads the snapshot's manifests as iceberg-go's scan does.
func readBack(t *testing.T, e *normEnv, snap table.Snapshot) []iceberg.ManifestEntry {
	t.Helper()
	files, err := iceberg.ReadManifestList(bytes.NewReader(e.read(t, snap.ManifestList)))
	if err != nil {
		t.Fatal(err)
	}
	var all []iceberg.ManifestEntry
	for _, mf := range files {
		entries, err := iceberg.ReadManifest(mf, bytes.NewReader(e.read(t, mf.FilePath())), false)
		if err != nil {
			t.Fatalf("iceberg-go reads %s: %v", mf.FilePath(), err)
		}
		all = append(all, entries...)
	}
	return all
}

// TestNormalizeSnapshotRepairsClickHouseManifests: each flaw of ClickHouse
// 26.7's manifests is repaired into a new file that iceberg-go reads; the
// files ClickHouse wrote stay as they were.
func TestNormalizeSnapshotRepairsClickHouseManifests(t *testing.T) {
	for name, f := range map[string]chFlaws{
		"content":           {dropKeys: []string{"content"}},
		"partition_spec_id": {dropKeys: []string{"partition-spec-id", "schema-id"}, specIDKey: "0"},
		"field ids":         {noFieldIDs: true},
		"file_format":       {format: "Parquet"},
		"all of them":       {dropKeys: []string{"content", "partition-spec-id", "schema-id"}, specIDKey: "0", noFieldIDs: true, format: "Parquet"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newNormEnv(t)
			mf := e.manifest(t, "m1", 42, f)
			before := e.read(t, mf.FilePath())
			md, snap := e.snapshot(t, 42, mf)
			if f.format == "" && !f.noFieldIDs && len(f.dropKeys) > 0 && f.dropKeys[0] == "content" {
				if _, err := iceberg.ReadManifest(mf, bytes.NewReader(before), false); err == nil {
					t.Fatal("the flawed manifest reads fine: the test makes no flaw")
				}
			}
			out, changed, err := e.wh.NormalizeSnapshot(context.Background(), md, snap)
			if err != nil || !changed || out.ManifestList == snap.ManifestList {
				t.Fatalf("NormalizeSnapshot = %v, %v, %v; want a new manifest list", out.ManifestList, changed, err)
			}
			entries := readBack(t, e, out)
			if len(entries) != 1 || entries[0].DataFile().FileFormat() != iceberg.ParquetFile ||
				entries[0].DataFile().Partition()[1000] != "eu" || entries[0].DataFile().Count() != 3 {
				t.Fatalf("entries after repair: %v", entries)
			}
			if !bytes.Equal(e.read(t, mf.FilePath()), before) {
				t.Fatal("the manifest ClickHouse wrote was changed")
			}
			// Normalising the result again changes nothing (a commit retry).
			if _, again, err := e.wh.NormalizeSnapshot(context.Background(), md, out); err != nil || again {
				t.Fatalf("second normalisation: changed=%v err=%v", again, err)
			}
		})
	}
}

// TestNormalizeSnapshotRefusesContradictions: a header whose partition
// spec disagrees with its manifest list entry fails the commit (400)
// instead of being "repaired".
func TestNormalizeSnapshotRefusesContradictions(t *testing.T) {
	e := newNormEnv(t)
	mf := e.manifest(t, "m1", 42, chFlaws{dropKeys: []string{"partition-spec-id"}, specIDKey: "7"})
	md, snap := e.snapshot(t, 42, mf)
	_, _, err := e.wh.NormalizeSnapshot(context.Background(), md, snap)
	if ice.ErrorCode(err) != ice.EINVALID {
		t.Fatalf("err = %v, want EINVALID", err)
	}
}

// TestNormalizeSnapshotLeavesOthersAlone: manifests the new snapshot did not
// add (inherited from committed snapshots) and files outside the table are
// never rewritten; a complete snapshot is returned unchanged.
func TestNormalizeSnapshotLeavesOthersAlone(t *testing.T) {
	e := newNormEnv(t)
	inherited := e.manifest(t, "old", 41, chFlaws{dropKeys: []string{"content"}})
	md, snap := e.snapshot(t, 42, inherited)
	out, changed, err := e.wh.NormalizeSnapshot(context.Background(), md, snap)
	if err != nil || changed || out.ManifestList != snap.ManifestList {
		t.Fatalf("inherited manifest: changed=%v list=%s err=%v; want untouched", changed, out.ManifestList, err)
	}

	complete := e.manifest(t, "ok", 43, chFlaws{})
	md, snap = e.snapshot(t, 43, complete)
	if _, changed, err := e.wh.NormalizeSnapshot(context.Background(), md, snap); err != nil || changed {
		t.Fatalf("complete snapshot: changed=%v err=%v", changed, err)
	}

	outside := e.manifest(t, "elsewhere", 44, chFlaws{dropKeys: []string{"content"}})
	moved := strings.Replace(outside.FilePath(), "/ns/t/", "/other/", 1)
	if err := os.MkdirAll(filepath.Dir(strings.TrimPrefix(moved, "file://")), 0o755); err != nil {
		t.Fatal(err)
	}
	e.write(t, moved, e.read(t, outside.FilePath()))
	mfOut := iceberg.NewManifestFile(2, moved, outside.Length(), 0, 44).SequenceNum(1, 1).Build()
	md, snap = e.snapshot(t, 44, mfOut)
	if _, changed, err := e.wh.NormalizeSnapshot(context.Background(), md, snap); err != nil || changed {
		t.Fatalf("manifest outside the table: changed=%v err=%v; want untouched", changed, err)
	}
}

// TestWithEmptyLists: a metadata file without snapshots gets the empty
// lists and objects ClickHouse 26.7 needs, and still parses.
func TestWithEmptyLists(t *testing.T) {
	e := newNormEnv(t)
	raw, err := encodeWhole(e.md)
	if err != nil {
		t.Fatal(err)
	}
	got := WithEmptyLists(raw)
	for _, k := range []string{`"snapshots":[]`, `"snapshot-log":[]`, `"metadata-log":[]`, `"refs":{}`, `"properties":{}`} {
		if !bytes.Contains(got, []byte(k)) {
			t.Errorf("%s missing from %s", k, got)
		}
	}
	if _, err := table.ParseMetadataBytes(got); err != nil {
		t.Fatal(err)
	}
	if again := WithEmptyLists(got); !bytes.Equal(again, got) {
		t.Error("not idempotent")
	}
}
