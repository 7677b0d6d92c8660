package maintenance_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/maintenance"
)

var wideSchema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
	iceberg.NestedField{ID: 2, Name: "v", Type: iceberg.PrimitiveTypes.Float64, Required: true},
	iceberg.NestedField{ID: 3, Name: "s", Type: iceberg.PrimitiveTypes.String, Required: true},
)

// randomRows makes n rows of random values (ids, doubles and 24-character
// strings), which Parquet cannot compress much, so a file's size follows
// the row count.
func randomRows(rng *rand.Rand, from, n int64) arrow.Table {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "v", Type: arrow.PrimitiveTypes.Float64},
		{Name: "s", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	buf := make([]byte, 24)
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(rng.Uint64() >> 1))
		b.Field(1).(*array.Float64Builder).Append(rng.Float64())
		for j := range buf {
			buf[j] = alphabet[rng.IntN(len(alphabet))]
		}
		b.Field(2).(*array.StringBuilder).Append(string(buf))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
}

// BenchmarkCompactionLargeFiles compacts a few large files on versitygw
// into one and reports the MiB/s the rewrite read and wrote, next to a
// plain copy of the same files through the same storage and FileIO in the
// same run (one GET and one PUT of every byte, no Parquet decoding), as a
// ratio. ICE_BENCH_FILES (default 8) files of about ICE_BENCH_FILE_MIB
// (default 32) MiB each:
//
//	go test -run '^$' -bench BenchmarkCompactionLargeFiles -benchtime 1x ./maintenance/
func BenchmarkCompactionLargeFiles(b *testing.B) {
	nFiles, fileMiB := envInt(b, "ICE_BENCH_FILES", 8), envInt(b, "ICE_BENCH_FILE_MIB", 32)
	// About 35 bytes a row once written (8 + 8 + 24 random characters
	// at 6 bits of entropy each, less what zstd saves), measured.
	rowsPerFile := int64(fileMiB) << 20 / 35
	for range b.N {
		b.StopTimer()
		f := newS3Fixture(b)
		ctx := context.Background()
		if err := f.cat.CreateNamespace(ctx, table.Identifier{"ops"}, nil); err != nil {
			b.Fatal(err)
		}
		tbl, err := f.cat.CreateTable(ctx, table.Identifier{"ops", "large"}, wideSchema,
			catalog.WithProperties(iceberg.Properties{table.WriteTargetFileSizeBytesKey: strconv.Itoa(4 << 30)}))
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range nFiles {
			at := randomRows(rng, int64(i)*rowsPerFile, rowsPerFile)
			tbl, err = tbl.AppendTable(ctx, at, rowsPerFile, nil)
			at.Release()
			if err != nil {
				b.Fatal(err)
			}
		}
		files := dataFilesB(b, tbl)
		if len(files) != nFiles {
			b.Fatalf("%d input files, want %d", len(files), nFiles)
		}
		copyBytes, copyTime := copyFiles(b, tbl, files)

		jobs, err := maintenance.New(f.svc, f.wh, maintenance.Config{CandidateMinAge: -1, MinInputFiles: 2}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		res, err := jobs.CompactData(ctx, ident("large"))
		elapsed := time.Since(start)
		b.StopTimer()
		if err != nil || res.Compaction == nil || res.Compaction.InputFiles != nFiles {
			b.Fatalf("compaction: %+v %s, %v", res.Compaction, res.Skipped, err)
		}
		after, err := f.cat.LoadTable(ctx, table.Identifier{"ops", "large"})
		if err != nil {
			b.Fatal(err)
		}
		if n := rowsOfTable(b, after); n != int64(nFiles)*rowsPerFile {
			b.Fatalf("%d rows after compaction, want %d", n, int64(nFiles)*rowsPerFile)
		}
		const mib = 1 << 20
		readRate := float64(res.Compaction.InputBytes) / mib / elapsed.Seconds()
		copyRate := float64(copyBytes) / mib / copyTime.Seconds()
		b.ReportMetric(float64(res.Compaction.InputBytes)/mib, "input-MiB")
		b.ReportMetric(float64(res.Compaction.OutputFiles), "output-files")
		b.ReportMetric(elapsed.Seconds(), "compaction-s")
		b.ReportMetric(readRate, "read-MiB/s")
		b.ReportMetric(float64(res.Compaction.OutputBytes)/mib/elapsed.Seconds(), "written-MiB/s")
		b.ReportMetric(copyRate, "copy-MiB/s")
		b.ReportMetric(readRate/copyRate, "compaction/copy")
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func dataFilesB(b *testing.B, tbl *table.Table) []iceberg.DataFile {
	tasks, err := tbl.Scan().PlanFiles(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	out := make([]iceberg.DataFile, len(tasks))
	for i, t := range tasks {
		out[i] = t.File
	}
	return out
}

// copyFiles copies each data file to a new object next to it through the
// table's FileIO and returns the bytes copied and the time it took.
func copyFiles(b *testing.B, tbl *table.Table, files []iceberg.DataFile) (int64, time.Duration) {
	fsys, err := tbl.FS(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	wfs := fsys.(icebergio.WriteFileIO)
	var total int64
	start := time.Now()
	for i, df := range files {
		in, err := wfs.Open(df.FilePath())
		if err != nil {
			b.Fatal(err)
		}
		out, err := wfs.Create(fmt.Sprintf("%s.copy-%d", df.FilePath(), i))
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(out, in)
		in.Close()
		if err != nil {
			b.Fatal(err)
		}
		if err := out.Close(); err != nil {
			b.Fatal(err)
		}
		total += n
	}
	return total, time.Since(start)
}

// rowsOfTable counts the rows of the live data files. A file larger than
// read.split.target-size comes back from PlanFiles as several tasks (one
// per byte range), so files are counted once by path.
func rowsOfTable(b *testing.B, tbl *table.Table) int64 {
	var n int64
	seen := map[string]bool{}
	for _, df := range dataFilesB(b, tbl) {
		if !seen[df.FilePath()] {
			seen[df.FilePath()] = true
			n += df.Count()
		}
	}
	return n
}
