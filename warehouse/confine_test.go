package warehouse_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/klauspost/compress/zstd"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// Metadata reads are bounded: a file over the limit, a decompression bomb
// and a device are refused with EINVALID, having read at most the limit.
func TestMetadataReadsAreBounded(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const limit = 1 << 20
	wh, err := warehouse.Open(ctx, warehouse.Config{Location: "file://" + dir, MaxMetadataBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 4*limit)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(zeros)
	zw.Close()
	var zs bytes.Buffer
	zsw, _ := zstd.NewWriter(&zs)
	zsw.Write(zeros)
	zsw.Close()
	files := map[string][]byte{"big.metadata.json": zeros, "bomb.gz.metadata.json": gz.Bytes(), "bomb.zstd.metadata.json": zs.Bytes()}
	for name, data := range files {
		if len(data) > limit && name != "big.metadata.json" {
			t.Fatalf("%s is not small compressed: %d", name, len(data))
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, loc := range []string{"file://" + dir + "/big.metadata.json", "file://" + dir + "/bomb.gz.metadata.json",
		"file://" + dir + "/bomb.zstd.metadata.json", "file:///dev/zero", "file://" + dir} {
		_, err := wh.ReadMetadata(ctx, loc)
		if ice.ErrorCode(err) != ice.EINVALID {
			t.Errorf("ReadMetadata(%s) = %v, want EINVALID", loc, err)
		}
		_, err = wh.ReadServable(ctx, loc)
		if ice.ErrorCode(err) != ice.EINVALID {
			t.Errorf("ReadServable(%s) = %v, want EINVALID", loc, err)
		}
	}
}

// Purge deletes only inside the table's location, however the metadata
// names other files, and DeleteIn checks again at the delete.
func TestPurgeStaysInsideTheTable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	wh, err := warehouse.Open(ctx, warehouse.Config{Location: "file://" + dir + "/wh"})
	if err != nil {
		t.Fatal(err)
	}
	tableLoc := "file://" + dir + "/wh/a/t"
	victim := filepath.Join(dir, "outside", "victim.txt")
	other := filepath.Join(dir, "wh", "b", "t", "metadata", "stats.puffin")
	inside := filepath.Join(dir, "wh", "a", "t", "metadata", "stats.puffin")
	for _, p := range []string{victim, other, inside} {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})
	md, err := table.NewMetadata(sc, iceberg.UnpartitionedSpec, table.UnsortedSortOrder, tableLoc, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Metadata as a hostile client could have left it (before the commit
	// path refused such updates): statistics files anywhere.
	for i, p := range []string{victim, other, inside} {
		md, err = table.UpdateTableMetadata(md, table.Updates{table.NewSetStatisticsUpdate(table.StatisticsFile{
			SnapshotID: int64(i + 1), StatisticsPath: "file://" + p, FileSizeInBytes: 1, FileFooterSizeInBytes: 1})}, "")
		if err != nil {
			t.Fatal(err)
		}
	}
	mdLoc := tableLoc + "/metadata/00000-x.metadata.json"
	written, err := wh.WriteMetadata(ctx, mdLoc, md, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ice.ParseLocation(tableLoc)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Purge(ctx, written, l); err == nil {
		t.Error("purge reported no paths left alone")
	}
	for _, p := range []string{victim, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("purge deleted %s", p)
		}
	}
	if _, err := os.Stat(inside); err == nil {
		t.Error("purge kept the table's own statistics file")
	}
	if err := wh.DeleteIn(ctx, l, "file://"+victim); err == nil {
		t.Error("DeleteIn deleted outside the table")
	}
	if err := wh.DeleteIn(ctx, l, tableLoc+"/../../../outside/victim.txt"); err == nil {
		t.Error("DeleteIn followed '..'")
	}
	if _, err := os.Stat(victim); err != nil {
		t.Error("victim deleted")
	}
}
