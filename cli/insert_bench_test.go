package cli_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// TestInsertSpeed measures `ice insert` of many ~10 MB Parquet files into a
// table on the versitygw S3 warehouse, copying local files and adding files
// already in the bucket with --no-copy. It is a measurement, not a check:
// it runs only with ICE_BENCH_INSERT=1 and prints the seconds (see
// docs/benchmarks.md). ICE_BENCH_FILES (default 100) and ICE_BENCH_MB
// (default 10) size the data set, which is generated under t.TempDir().
func TestInsertSpeed(t *testing.T) {
	if os.Getenv("ICE_BENCH_INSERT") != "1" {
		t.Skip("set ICE_BENCH_INSERT=1 to measure insert speed")
	}
	files, mb := envInt(t, "ICE_BENCH_FILES", 100), envInt(t, "ICE_BENCH_MB", 10)
	e := startS3Catalog(t)
	e.ok(t, "create-namespace", "bench")
	dir := t.TempDir()
	var paths []string
	var total int64
	start := time.Now()
	for i := 0; i < files; i++ {
		b := benchFile(t, i, mb)
		p := filepath.Join(dir, fmt.Sprintf("part-%03d.parquet", i))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		e.put(t, "warehouse", fmt.Sprintf("landing/part-%03d.parquet", i), b)
		paths = append(paths, p)
		total += int64(len(b))
	}
	t.Logf("generated %d files, %.1f MiB in all, in %.1fs", files, float64(total)/(1<<20), time.Since(start).Seconds())

	measure := func(label string, args ...string) {
		t.Helper()
		start := time.Now()
		e.ok(t, args...)
		s := time.Since(start).Seconds()
		t.Logf("%s: %.2fs (%.0f MiB/s)", label, s, float64(total)/(1<<20)/s)
	}
	measure("copy    (local files -> s3 table)", append([]string{"insert", "-p", "bench.copied"}, paths...)...)
	measure("no-copy (s3 files added in place)", "insert", "-p", "bench.inplace", "--no-copy", "s3://warehouse/landing/*.parquet")
	for _, name := range []string{"bench.copied", "bench.inplace"} {
		if n := len(e.files(t, name)); n != files {
			t.Fatalf("%s has %d files, want %d", name, n, files)
		}
	}
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// benchFile is an uncompressed Parquet file of about mb MiB of random
// longs and doubles: random values defeat dictionaries and compression, so
// the size on disk is what was asked for.
func benchFile(t *testing.T, seed, mb int) []byte {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	n := mb << 20 / 16
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	ids, vals := b.Field(0).(*array.Int64Builder), b.Field(1).(*array.Float64Builder)
	ids.Reserve(n)
	vals.Reserve(n)
	for i := 0; i < n; i++ {
		ids.UnsafeAppend(int64(seed)<<32 | int64(i))
		vals.UnsafeAppend(rng.Float64())
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithDictionaryDefault(false), parquet.WithCompression(compress.Codecs.Uncompressed))
	w, err := pqarrow.NewFileWriter(sc, &buf, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
