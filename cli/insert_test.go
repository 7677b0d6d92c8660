package cli_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// TestInsertS3 loads Parquet files from S3 (with wildcards) and over HTTP
// into tables on an S3 warehouse, partitioned by day, and reads them back
// with iceberg-go.
func TestInsertS3(t *testing.T) {
	e := startS3Catalog(t)
	e.ok(t, "create-namespace", "logs")

	// Three days, two files each; one file of day 3 also spills into day 4,
	// so it has to be split.
	var want []int64
	for d := 0; d < 3; d++ {
		day := day1.AddDate(0, 0, d)
		for f := 0; f < 2; f++ {
			from := int64(d*100 + f*10)
			rs := rows(from, 10, day, "eu", "us")
			if d == 2 && f == 1 {
				rs[9].TS = day.AddDate(0, 0, 1)
			}
			e.put(t, "input", fmt.Sprintf("events/day=%d/part-%d.parquet", d, f), parquetBytes(t, rs))
			want = append(want, seq(from, 10)...)
		}
	}
	e.put(t, "input", "events/README.txt", []byte("not parquet, not matched"))

	// -p creates the table from the first file, with the day partitioning.
	e.ok(t, "insert", "logs.events", "-p", "s3://input/events/day=*/part-*.parquet",
		"--partition", `[{"column":"ts","transform":"day"}]`, "--thread-count", "3")

	cat := testenv.Client(t, e.URL, rest.WithAdditionalProps(iceberg.Properties{
		"s3.endpoint": e.S3.Endpoint, "s3.access-key-id": e.S3.AccessKey, "s3.secret-access-key": e.S3.SecretKey, "s3.region": e.S3.Region,
	}))
	tbl, err := cat.LoadTable(context.Background(), table.Identifier{"logs", "events"})
	if err != nil {
		t.Fatal(err)
	}
	if spec := tbl.Spec(); spec.NumFields() != 1 || spec.Field(0).Transform.String() != "day" {
		t.Fatalf("spec = %v, want day(ts)", spec)
	}
	if n := len(tbl.Metadata().Snapshots()); n != 1 {
		t.Fatalf("%d snapshots, want 1: all files in one commit", n)
	}
	if got := readIDs(t, tbl, nil); !slices.Equal(got, sorted(want)) {
		t.Fatalf("read back %v, want %v", got, want)
	}
	// Partition pruning sees the days: day 2 holds the 20 rows of its two files.
	day2 := iceberg.EqualTo(iceberg.Reference("ts"), day1.AddDate(0, 0, 1).Add(time.Hour).Format(time.RFC3339))
	tasks, err := tbl.Scan(table.WithRowFilter(day2)).PlanFiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 {
		t.Fatalf("files for day 2: %d, want 2", len(tasks))
	}
	var days []string
	for _, f := range e.files(t, "logs.events") {
		if !strings.HasPrefix(f.Path, "s3://warehouse/prefix/logs/events/data/") {
			t.Fatalf("file %s not copied into the table's location", f.Path)
		}
		days = append(days, fmt.Sprint(f.Partition["ts_day"]))
	}
	sort.Strings(days)
	if len(days) != 7 || days[0] != "2025-03-01" || days[6] != "2025-03-04" {
		t.Fatalf("partitions of the files: %v, want 6 files over 3 days + 1 split-off file of day 4", days)
	}

	// delete with a value of the source column: the timestamp is turned
	// into its day, and the file of day 4 (the row split off id 219) goes.
	e.ok(t, "delete", "logs.events", "--partition", `[{"name":"ts","values":["2025-03-04T00:00:00+00:00"]}]`, "--dry-run=false")
	if ids := e.scanIDs(t, "logs.events"); slices.Contains(ids, 219) || len(ids) != len(want)-1 {
		t.Fatalf("after deleting day 4: %d rows, 219 present: %v", len(ids), slices.Contains(ids, 219))
	}

	// --no-copy keeps files of the table's bucket where they are; a file
	// over HTTP is copied.
	e.put(t, "warehouse", "landing/a.parquet", parquetBytes(t, rows(1000, 5, day1, "eu")))
	e.put(t, "warehouse", "landing/b.parquet", parquetBytes(t, rows(1005, 5, day1, "eu")))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(parquetBytes(t, rows(2000, 3, day1, "us")))
	}))
	t.Cleanup(srv.Close)
	e.ok(t, "insert", "logs.flat", "-p", "--no-copy", "s3://warehouse/landing/*.parquet")
	e.ok(t, "insert", "logs.flat", srv.URL+"/remote.parquet")
	files := e.files(t, "logs.flat")
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	sort.Strings(paths)
	if len(paths) != 3 || paths[0] != "s3://warehouse/landing/a.parquet" || paths[1] != "s3://warehouse/landing/b.parquet" ||
		!strings.HasPrefix(paths[2], "s3://warehouse/prefix/logs/flat/data/") {
		t.Fatalf("files of logs.flat = %v", paths)
	}
	if ids := e.scanIDs(t, "logs.flat"); !slices.Equal(ids, append(seq(1000, 10), seq(2000, 3)...)) {
		t.Fatalf("logs.flat rows = %v", ids)
	}
	// A local file, or an object in another bucket, cannot be added in
	// place to a table in the warehouse bucket.
	local := writeParquet(t, t.TempDir(), "local.parquet", rows(3000, 1, day1, "eu"))
	for _, f := range []string{local, "s3://input/events/day=0/part-0.parquet"} {
		if msg := e.fails(t, "insert", "logs.flat", "--no-copy", f); !strings.Contains(msg, "without a copy") {
			t.Fatalf("--no-copy of %s: %s", f, msg)
		}
	}
}

// TestFailedInsertChangesNothing inserts good files together with one whose
// "id" column has the wrong type: the command names the column, commits
// nothing, and removes the copies it had already made.
func TestFailedInsertChangesNothing(t *testing.T) {
	e := startS3Catalog(t)
	dir := t.TempDir()
	first := writeParquet(t, dir, "first.parquet", rows(0, 5, day1, "eu"))
	e.ok(t, "create-namespace", "db")
	e.ok(t, "insert", "-p", "db.t", first)
	before := e.describe(t, "db.t")
	keysBefore := e.list(t, "warehouse", "prefix/db/t/data/")

	var inputs []string
	for i := 0; i < 4; i++ {
		inputs = append(inputs, writeParquet(t, dir, fmt.Sprintf("good-%d.parquet", i), rows(int64(10+i*10), 10, day1, "eu")))
	}
	inputs = append(inputs, badParquet(t, dir))
	msg := e.fails(t, append([]string{"insert", "db.t", "--thread-count", "1"}, inputs...)...)
	if !strings.Contains(msg, `column "id"`) || !strings.Contains(msg, "nothing was committed") {
		t.Fatalf("error does not name the column: %s", msg)
	}
	after := e.describe(t, "db.t")
	if after.CurrentSnapshot.ID != before.CurrentSnapshot.ID || after.MetadataLocation != before.MetadataLocation {
		t.Fatalf("the failed insert changed the table: %+v -> %+v", before.CurrentSnapshot, after.CurrentSnapshot)
	}
	if ids := e.scanIDs(t, "db.t"); !slices.Equal(ids, seq(0, 5)) {
		t.Fatalf("rows after the failed insert: %v", ids)
	}
	if keys := e.list(t, "warehouse", "prefix/db/t/data/"); !slices.Equal(keys, keysBefore) {
		t.Fatalf("data files left behind: %v, before %v", keys, keysBefore)
	}
	// A file with a column the table lacks is refused too.
	if msg := e.fails(t, "insert", "db.t", writeExtraColumn(t, dir)); !strings.Contains(msg, `column "extra"`) {
		t.Fatalf("extra column: %s", msg)
	}
}

// TestConcurrentInserts runs inserts into one table at once: each is one
// commit, and the ones that lose the race retry until all are in.
func TestConcurrentInserts(t *testing.T) {
	e := startFileCatalog(t)
	dir := t.TempDir()
	e.ok(t, "create-namespace", "db")
	e.ok(t, "insert", "-p", "db.t", writeParquet(t, dir, "seed.parquet", rows(0, 1, day1, "eu")))
	const writers = 4
	var wg sync.WaitGroup
	results := make([]result, writers)
	for i := 0; i < writers; i++ {
		p := writeParquet(t, dir, fmt.Sprintf("w%d.parquet", i), rows(int64(100*(i+1)), 5, day1, "eu"))
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runIce(t, nil, "-c", e.Config, "insert", "db.t", p)
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.Code != 0 {
			t.Fatalf("writer %d: exit %d: %s", i, r.Code, r.Stderr)
		}
	}
	var snaps []any
	decodeJSON(t, e.ok(t, "list-snapshots", "db.t", "--json"), &snaps)
	if len(snaps) != writers+1 {
		t.Fatalf("%d snapshots, want %d", len(snaps), writers+1)
	}
	if ids := e.scanIDs(t, "db.t"); len(ids) != 1+writers*5 {
		t.Fatalf("rows = %v", ids)
	}
}

func sorted(v []int64) []int64 {
	out := slices.Clone(v)
	slices.Sort(out)
	return out
}

func readIDs(t *testing.T, tbl *table.Table, filter iceberg.BooleanExpression) []int64 {
	t.Helper()
	var opts []table.ScanOption
	if filter != nil {
		opts = append(opts, table.WithRowFilter(filter))
	}
	got, err := tbl.Scan(opts...).ToArrowTable(context.Background())
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	defer got.Release()
	var ids []int64
	for _, chunk := range got.Column(0).Data().Chunks() {
		ids = append(ids, chunk.(*array.Int64).Int64Values()...)
	}
	slices.Sort(ids)
	return ids
}

// TestInsertCreatesMissingNamespaces: insert -p into a nested namespace
// that does not exist creates every level, then the table.
func TestInsertCreatesMissingNamespaces(t *testing.T) {
	e := startFileCatalog(t)
	dir := t.TempDir()
	e.fails(t, "insert", "a.b.t", writeParquet(t, dir, "x.parquet", rows(0, 2, day1, "eu")))
	e.ok(t, "insert", "-p", "a.b.t", writeParquet(t, dir, "y.parquet", rows(0, 2, day1, "eu")))
	if out := e.ok(t, "list-tables", "a.b"); !strings.Contains(out, "t") {
		t.Fatalf("list-tables a.b: %q", out)
	}
	if out := e.ok(t, "list-namespaces", "a"); !strings.Contains(out, "b") {
		t.Fatalf("list-namespaces a: %q", out)
	}
}
