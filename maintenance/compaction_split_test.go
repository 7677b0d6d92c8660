package maintenance_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/maintenance"
)

// TestCompactDataFilesLargerThanASplit: a candidate file larger than
// read.split.target-size comes back from a scan plan as several tasks, one
// per range of row groups. Compaction must still read each file once and
// replace it once: the row count stays the same.
func TestCompactDataFilesLargerThanASplit(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	if err := f.cat.CreateNamespace(ctx, table.Identifier{"ops"}, nil); err != nil {
		t.Fatal(err)
	}
	tbl, err := f.cat.CreateTable(ctx, table.Identifier{"ops", "split"}, wideSchema, catalog.WithProperties(iceberg.Properties{
		table.ReadSplitTargetSizeKey:      "262144", // 256 KiB splits
		table.ParquetRowGroupLimitKey:     "5000",   // ~170 KiB row groups
		table.WriteTargetFileSizeBytesKey: "1073741824",
	}))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const files, rowsPerFile = 3, 40_000 // ~1.3 MiB each, 8 row groups
	for i := range files {
		at := randomRows(rng, int64(i*rowsPerFile), rowsPerFile)
		tbl, err = tbl.AppendTable(ctx, at, rowsPerFile, nil)
		at.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) <= files {
		t.Fatalf("%d scan tasks for %d files: the files were not split, the test proves nothing", len(tasks), files)
	}
	before := countRows(t, tbl)
	if before != files*rowsPerFile {
		t.Fatalf("%d rows before, want %d", before, files*rowsPerFile)
	}
	res, err := f.jobs(t, anyAge(maintenance.Config{MinInputFiles: 2})).CompactData(ctx, ident("split"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Compaction == nil {
		t.Fatalf("nothing compacted: %s", res.Skipped)
	}
	after := f.load(t, "split")
	if got := countRows(t, after); got != before {
		t.Fatalf("%d rows after compacting %d files (%d scan tasks), want %d; result %+v", got, files, len(tasks), before, *res.Compaction)
	}
	f.checkReferencedFilesExist(t, "split")
}

func countRows(t *testing.T, tbl *table.Table) int64 {
	t.Helper()
	got, err := tbl.Scan().ToArrowTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	return got.NumRows()
}
