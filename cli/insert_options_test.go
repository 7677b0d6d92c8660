package cli_test

// Tests of the insert options that Java ice v0.19 has: sorting, --no-commit,
// duplicates, naming, --retry-list, the S3 input options and server-side
// copies. Each runs against a real catalog (embedded etcd) and, for S3,
// versitygw.

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// shuffled returns the rows of ids from..from+n-1 in an order that is not
// sorted by id: the odd ids descending, then the even ones ascending.
func shuffled(from, n int64, regions ...string) []row {
	rs := rows(from, n, day1, regions...)
	var odd, even []row
	for _, r := range rs {
		if r.ID%2 == 1 {
			odd = append([]row{r}, odd...)
		} else {
			even = append(even, r)
		}
	}
	return append(odd, even...)
}

// fileRows reads a data file of a file:// table in its stored order.
func fileRows(t *testing.T, uri string) (ids []int64, regions []string) {
	t.Helper()
	f, err := file.OpenParquetFile(strings.TrimPrefix(uri, "file://"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pqarrow.NewFileReader(f, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := r.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	for i := 0; i < int(tbl.NumCols()); i++ {
		for _, c := range tbl.Column(i).Data().Chunks() {
			switch tbl.Schema().Field(i).Name {
			case "id":
				ids = append(ids, c.(*array.Int64).Int64Values()...)
			case "region":
				for j := 0; j < c.Len(); j++ {
					regions = append(regions, c.(*array.String).Value(j))
				}
			}
		}
	}
	return ids, regions
}

// TestInsertSortsRows: as in Java ice, insert writes the rows of each file
// in the table's sort order (set by --sort, recorded in the table), copies
// a file already in order as it is, refuses an unsorted file where it
// cannot rewrite it (--no-copy), and trusts --assume-sorted.
func TestInsertSortsRows(t *testing.T) {
	e := startFileCatalog(t)
	dir := t.TempDir()
	unsorted := writeParquet(t, dir, "unsorted.parquet", shuffled(0, 40, "eu"))
	e.ok(t, "insert", "-p", "db.t", unsorted, "--sort", `[{"column":"id","desc":false}]`)
	d := e.describe(t, "db.t")
	if len(d.SortOrder) != 1 || d.SortOrder[0].Column != "id" || d.SortOrder[0].Desc {
		t.Fatalf("sort order = %+v", d.SortOrder)
	}
	if d.Properties["write.distribution-mode"] != "range" {
		t.Fatalf("write.distribution-mode = %q, want range (set as Java ice does)", d.Properties["write.distribution-mode"])
	}
	files := e.files(t, "db.t")
	if len(files) != 1 {
		t.Fatalf("files = %+v", files)
	}
	if ids, _ := fileRows(t, files[0].Path); !slices.Equal(ids, seq(0, 40)) {
		t.Fatalf("data file rows in order %v, want sorted by id", ids)
	}
	// The table's order applies to later inserts without --sort; a file
	// already in order is copied byte for byte.
	inOrder := writeParquet(t, dir, "inorder.parquet", rows(100, 10, day1, "eu"))
	e.ok(t, "insert", "db.t", writeParquet(t, dir, "unsorted2.parquet", shuffled(200, 11, "eu")), inOrder)
	for _, f := range e.files(t, "db.t") {
		ids, _ := fileRows(t, f.Path)
		if !slices.IsSorted(ids) {
			t.Fatalf("%s: rows %v not sorted", f.Path, ids)
		}
		if strings.HasSuffix(f.Path, "inorder.parquet") {
			want, _ := os.ReadFile(inOrder)
			got, _ := os.ReadFile(strings.TrimPrefix(f.Path, "file://"))
			if !slices.Equal(got, want) {
				t.Fatal("a file already in order was rewritten, not copied")
			}
		}
	}
	if ids := e.scanIDs(t, "db.t"); len(ids) != 61 {
		t.Fatalf("%d rows, want 61", len(ids))
	}
	// --no-copy cannot sort: an unsorted file is refused, a sorted one taken.
	msg := e.fails(t, "insert", "db.t", "--no-copy", writeParquet(t, dir, "unsorted3.parquet", shuffled(300, 5, "eu")))
	if !strings.Contains(msg, "does not appear to be sorted") {
		t.Fatalf("--no-copy of an unsorted file: %s", msg)
	}
	e.ok(t, "insert", "db.t", "--no-copy", writeParquet(t, dir, "sorted3.parquet", rows(400, 5, day1, "eu")))
	// --assume-sorted takes the file as it is.
	assumed := writeParquet(t, dir, "assumed.parquet", shuffled(500, 6, "eu"))
	e.ok(t, "insert", "db.t", "--assume-sorted", assumed)
	for _, f := range e.files(t, "db.t") {
		if strings.HasSuffix(f.Path, "assumed.parquet") {
			if ids, _ := fileRows(t, f.Path); slices.IsSorted(ids) {
				t.Fatalf("--assume-sorted rewrote the file: %v", ids)
			}
		}
	}

	// Several keys, descending first; and a partitioned table, where each
	// partition's file is sorted.
	mixed := writeParquet(t, dir, "mixed.parquet", shuffled(0, 30, "eu", "us", "ap"))
	e.ok(t, "insert", "-p", "db.multi", mixed, "--sort", `[{"column":"region","desc":true},{"column":"id"}]`)
	f := e.files(t, "db.multi")
	ids, regions := fileRows(t, f[0].Path)
	for i := 1; i < len(ids); i++ {
		if regions[i-1] < regions[i] || (regions[i-1] == regions[i] && ids[i-1] > ids[i]) {
			t.Fatalf("row %d out of order (region desc, id asc): %v %v", i, regions, ids)
		}
	}
	e.ok(t, "insert", "-p", "db.parted", mixed, "--partition", `[{"column":"region"}]`, "--sort", `[{"column":"id","desc":true}]`)
	parts := e.files(t, "db.parted")
	if len(parts) != 3 {
		t.Fatalf("%d files, want one per region", len(parts))
	}
	total := 0
	for _, p := range parts {
		ids, _ := fileRows(t, p.Path)
		total += len(ids)
		if !slices.IsSortedFunc(ids, func(a, b int64) int { return int(b - a) }) {
			t.Fatalf("%s: %v not sorted descending", p.Path, ids)
		}
	}
	if total != 30 {
		t.Fatalf("%d rows in the partitions, want 30", total)
	}
}

// TestInsertNoCommit: --no-commit writes the data files but leaves the
// table as it was.
func TestInsertNoCommit(t *testing.T) {
	e := startFileCatalog(t)
	dir := t.TempDir()
	e.ok(t, "insert", "-p", "db.t", writeParquet(t, dir, "a.parquet", rows(0, 5, day1, "eu")))
	before := e.describe(t, "db.t")
	r := e.ice(t, "insert", "db.t", "--no-commit", writeParquet(t, dir, "b.parquet", rows(10, 5, day1, "eu")))
	if r.Code != 0 || !strings.Contains(r.Stderr, "--no-commit") {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	after := e.describe(t, "db.t")
	if after.MetadataLocation != before.MetadataLocation || after.CurrentSnapshot.ID != before.CurrentSnapshot.ID {
		t.Fatal("--no-commit changed the table")
	}
	if ids := e.scanIDs(t, "db.t"); !slices.Equal(ids, seq(0, 5)) {
		t.Fatalf("rows = %v", ids)
	}
	written, _ := filepath.Glob(filepath.Join(strings.TrimPrefix(before.Location, "file://"), "data", "*-b.parquet"))
	if len(written) != 1 {
		t.Fatalf("the uncommitted copy of b.parquet: %v", written)
	}
}

// TestInsertDuplicates: a file the table already has is refused (as in
// Java ice), skipped with --skip-duplicates, and inserted again with
// --force-duplicates, as a new copy.
func TestInsertDuplicates(t *testing.T) {
	e := startFileCatalog(t)
	dir := t.TempDir()
	a := writeParquet(t, dir, "a.parquet", rows(0, 5, day1, "eu"))
	e.ok(t, "insert", "-p", "db.t", a)
	if msg := e.fails(t, "insert", "db.t", a); !strings.Contains(msg, "already referenced by the table") {
		t.Fatalf("duplicate: %s", msg)
	}
	e.ok(t, "insert", "db.t", a, "--skip-duplicates")
	if ids := e.scanIDs(t, "db.t"); !slices.Equal(ids, seq(0, 5)) {
		t.Fatalf("after --skip-duplicates: %v", ids)
	}
	e.ok(t, "insert", "db.t", a, "--force-duplicates")
	if ids := e.scanIDs(t, "db.t"); len(ids) != 10 || ids[0] != 0 || ids[1] != 0 {
		t.Fatalf("after --force-duplicates: %v, want every row twice", ids)
	}
	if files := e.files(t, "db.t"); len(files) != 2 || files[0].Path == files[1].Path {
		t.Fatalf("files = %+v, want two copies", files)
	}
	// The same on a partitioned table, whose file is split.
	mixed := writeParquet(t, dir, "mixed.parquet", rows(0, 4, day1, "eu", "us"))
	e.ok(t, "insert", "-p", "db.p", mixed, "--partition", `[{"column":"region"}]`)
	e.fails(t, "insert", "db.p", mixed)
	e.ok(t, "insert", "db.p", mixed, "--force-duplicates")
	if ids := e.scanIDs(t, "db.p"); len(ids) != 8 {
		t.Fatalf("partitioned after --force-duplicates: %v", ids)
	}
	for _, bad := range [][]string{{"--force-duplicates", "--no-copy"}, {"--force-duplicates", "--skip-duplicates"}} {
		if r := e.ice(t, append([]string{"insert", "db.t", a}, bad...)...); r.Code != 2 {
			t.Fatalf("%v: exit %d: %s", bad, r.Code, r.Stderr)
		}
	}
}

// TestInsertNamingStrategy: PRESERVE_ORIGINAL keeps the input's name in
// the table's data directory; inputs that would collide are refused before
// anything is written.
func TestInsertNamingStrategy(t *testing.T) {
	e := startFileCatalog(t)
	dir := t.TempDir()
	a := writeParquet(t, dir, "orig-a.parquet", rows(0, 5, day1, "eu"))
	e.ok(t, "insert", "-p", "db.t", a, "--data-file-naming-strategy", "PRESERVE_ORIGINAL")
	d := e.describe(t, "db.t")
	files := e.files(t, "db.t")
	if len(files) != 1 || files[0].Path != d.Location+"/data/orig-a.parquet" {
		t.Fatalf("files = %+v, want %s/data/orig-a.parquet", files, d.Location)
	}
	if msg := e.fails(t, "insert", "db.t", a, "--data-file-naming-strategy", "PRESERVE_ORIGINAL"); !strings.Contains(msg, "already referenced") {
		t.Fatalf("second insert: %s", msg)
	}
	other := filepath.Join(t.TempDir(), "same")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	b1 := writeParquet(t, dir, "b.parquet", rows(10, 1, day1, "eu"))
	b2 := writeParquet(t, other, "b.parquet", rows(20, 1, day1, "eu"))
	if msg := e.fails(t, "insert", "db.t", b1, b2, "--data-file-naming-strategy", "PRESERVE_ORIGINAL"); !strings.Contains(msg, "would both be named b.parquet") {
		t.Fatalf("colliding names: %s", msg)
	}
	if ids := e.scanIDs(t, "db.t"); !slices.Equal(ids, seq(0, 5)) {
		t.Fatalf("rows = %v", ids)
	}
	if r := e.ice(t, "insert", "db.t", b1, "--data-file-naming-strategy", "FANCY"); r.Code != 2 {
		t.Fatalf("unknown strategy: exit %d", r.Code)
	}
}

// TestInsertRetryList: with --retry-list a failing file is listed and the
// others are committed; the list feeds a retry through stdin, and
// --retry-list-exit-code sets the exit code.
func TestInsertRetryList(t *testing.T) {
	e := startFileCatalog(t)
	dir := t.TempDir()
	e.ok(t, "insert", "-p", "db.t", writeParquet(t, dir, "seed.parquet", rows(0, 1, day1, "eu")))
	good := writeParquet(t, dir, "good.parquet", rows(10, 5, day1, "eu"))
	bad := badParquet(t, dir)
	list := filepath.Join(dir, "ice.retry")
	r := e.ice(t, "insert", "db.t", good, bad, "--retry-list", list)
	if r.Code != 0 || !strings.Contains(r.Stderr, "1 of 2 file(s) failed") {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	got, err := os.ReadFile(list)
	if err != nil || string(got) != bad+"\n" {
		t.Fatalf("retry list = %q, %v; want %s", got, err, bad)
	}
	if ids := e.scanIDs(t, "db.t"); !slices.Equal(ids, append([]int64{0}, seq(10, 5)...)) {
		t.Fatalf("rows = %v", ids)
	}
	data, _ := filepath.Glob(filepath.Join(strings.TrimPrefix(e.describe(t, "db.t").Location, "file://"), "data", "*bad*"))
	if len(data) != 0 {
		t.Fatalf("the failed file's copy was left: %v", data)
	}
	// The retry reads the list from stdin; the file still fails, now with
	// the chosen exit code; once fixed, the list comes back empty.
	r = runIce(t, got, "-c", e.Config, "insert", "db.t", "-", "--retry-list", list, "--retry-list-exit-code", "3")
	if r.Code != 3 {
		t.Fatalf("retry: exit %d: %s", r.Code, r.Stderr)
	}
	writeParquet(t, dir, "bad.parquet", rows(50, 2, day1, "eu"))
	r = runIce(t, got, "-c", e.Config, "insert", "db.t", "-", "--retry-list", list, "--retry-list-exit-code", "3")
	if r.Code != 0 {
		t.Fatalf("fixed retry: exit %d: %s", r.Code, r.Stderr)
	}
	if got, _ := os.ReadFile(list); len(got) != 0 {
		t.Fatalf("retry list after success = %q", got)
	}
	if ids := e.scanIDs(t, "db.t"); len(ids) != 8 {
		t.Fatalf("rows = %v", ids)
	}
}

// TestInsertSortCheckAcrossBatches: the order check streams a file in
// batches (64Ki rows); rows out of order exactly at a batch boundary are
// found, and a file sorted across its batches is taken as it is.
func TestInsertSortCheckAcrossBatches(t *testing.T) {
	e := startFileCatalog(t)
	dir := t.TempDir()
	const first = 65536
	var rs []row
	for i := int64(0); i < first; i++ {
		rs = append(rs, row{ID: 10_000 + i, Region: "eu", TS: day1})
	}
	for i := int64(0); i < 100; i++ { // smaller than every id before
		rs = append(rs, row{ID: i, Region: "eu", TS: day1})
	}
	e.ok(t, "insert", "-p", "db.t", writeParquet(t, dir, "seed.parquet", rows(0, 1, day1, "eu")), "--sort", `[{"column":"id"}]`)
	msg := e.fails(t, "insert", "db.t", "--no-copy", writeParquet(t, dir, "boundary.parquet", rs))
	if !strings.Contains(msg, "row 65536 is out of order") {
		t.Fatalf("unsorted across the batch boundary: %s", msg)
	}
	slices.SortFunc(rs, func(a, b row) int { return int(a.ID - b.ID) })
	e.ok(t, "insert", "db.t", "--no-copy", writeParquet(t, dir, "sorted.parquet", rs))
	if n := len(e.files(t, "db.t")); n != 2 {
		t.Fatalf("%d files, want 2", n)
	}
}
