package maintenance_test

import (
	"context"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/maintenance"
)

// BenchmarkCompaction1000SmallFiles writes 1,000 small files (10 rows
// each) to a table on versitygw, scans them, compacts them, and scans the
// result. It reports the MiB/s compaction read and wrote, and how many
// times faster the scan of the compacted table is. Run it alone:
//
//	go test -run '^$' -bench BenchmarkCompaction1000SmallFiles -benchtime 1x ./maintenance/
func BenchmarkCompaction1000SmallFiles(b *testing.B) {
	for range b.N {
		b.StopTimer()
		f := newS3Fixture(b)
		ctx := context.Background()
		if err := f.cat.CreateNamespace(ctx, table.Identifier{"ops"}, nil); err != nil {
			b.Fatal(err)
		}
		tbl, err := f.cat.CreateTable(ctx, table.Identifier{"ops", "bench"}, schema,
			catalog.WithProperties(iceberg.Properties{table.WriteTargetFileSizeBytesKey: "1"}))
		if err != nil {
			b.Fatal(err)
		}
		at := rowsOf(0, 10_000, false)
		tbl, err = tbl.AppendTable(ctx, at, 10, nil)
		at.Release()
		if err != nil {
			b.Fatal(err)
		}
		tx := tbl.NewTransaction()
		if err := tx.SetProperties(iceberg.Properties{table.WriteTargetFileSizeBytesKey: "134217728"}); err != nil {
			b.Fatal(err)
		}
		if tbl, err = tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		small := timeScan(b, tbl)
		jobs, err := maintenance.New(f.svc, f.wh, maintenance.Config{CandidateMinAge: -1}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		res, err := jobs.CompactData(ctx, ident("bench"))
		elapsed := time.Since(start)
		b.StopTimer()
		if err != nil || res.Compaction == nil || res.Compaction.InputFiles != 1000 {
			b.Fatalf("compaction: %+v, %v", res.Compaction, err)
		}
		compacted, err := f.cat.LoadTable(ctx, table.Identifier{"ops", "bench"})
		if err != nil {
			b.Fatal(err)
		}
		big := timeScan(b, compacted)
		const mib = 1 << 20
		b.ReportMetric(float64(res.Compaction.InputBytes)/mib/elapsed.Seconds(), "read-MiB/s")
		b.ReportMetric(float64(res.Compaction.OutputBytes)/mib/elapsed.Seconds(), "written-MiB/s")
		b.ReportMetric(float64(res.Compaction.InputBytes)/mib, "input-MiB")
		b.ReportMetric(small.Seconds()*1000, "scan-1000-files-ms")
		b.ReportMetric(big.Seconds()*1000, "scan-compacted-ms")
		b.ReportMetric(small.Seconds()/big.Seconds(), "scan-speedup-x")
	}
}

// timeScan reads the whole table twice and returns the faster time.
func timeScan(b *testing.B, tbl *table.Table) time.Duration {
	var best time.Duration
	for range 2 {
		start := time.Now()
		got, err := tbl.Scan().ToArrowTable(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if got.NumRows() != 10_000 {
			b.Fatalf("scan: %d rows", got.NumRows())
		}
		got.Release()
		if d := time.Since(start); best == 0 || d < best {
			best = d
		}
	}
	return best
}
