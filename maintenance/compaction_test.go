package maintenance_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/cli"
	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/maintenance"
)

// newS3Fixture is a catalog on a real versitygw bucket.
func newS3Fixture(t testing.TB) *fixture {
	t.Helper()
	s3 := testenv.StartS3(t)
	s3.CreateBucket(t, "warehouse")
	cfg := testenv.CatalogConfig(t)
	cfg.Warehouse = "s3://warehouse/prefix"
	cfg.S3 = config.S3{Endpoint: s3.Endpoint, PathStyleAccess: true, AccessKeyID: s3.AccessKey, SecretAccessKey: s3.SecretKey, Region: s3.Region}
	cfg.VendedCredentials.StaticKeys = true
	return newFixture(t, cfg)
}

var regionSchema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
	iceberg.NestedField{ID: 2, Name: "region", Type: iceberg.PrimitiveTypes.String, Required: true},
)

// rowsOf builds ids from..from+n-1; with regions, alternating eu and us.
func rowsOf(from, n int64, regions bool) arrow.Table {
	fields := []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}
	if regions {
		fields = append(fields, arrow.Field{Name: "region", Type: arrow.BinaryTypes.String})
	}
	sc := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(i)
		if regions {
			b.Field(1).(*array.StringBuilder).Append([]string{"eu", "us"}[i%2])
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
}

// appendSmallFiles appends rows in one commit, one file per batch of 10
// rows: the table's write.target-file-size-bytes is 1 byte, so the
// rolling writer closes a file after every batch.
func appendSmallFiles(t *testing.T, tbl *table.Table, from, n int64, regions bool) *table.Table {
	t.Helper()
	at := rowsOf(from, n, regions)
	defer at.Release()
	out, err := tbl.AppendTable(context.Background(), at, 10, nil)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return out
}

func scanIDs(t *testing.T, tbl *table.Table, opts ...table.ScanOption) []int64 {
	t.Helper()
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

func dataFiles(t *testing.T, tbl *table.Table) []iceberg.DataFile {
	t.Helper()
	tasks, err := tbl.Scan().PlanFiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []iceberg.DataFile
	for _, task := range tasks {
		out = append(out, task.File)
	}
	return out
}

func setProps(t *testing.T, tbl *table.Table, props iceberg.Properties) *table.Table {
	t.Helper()
	tx := tbl.NewTransaction()
	if err := tx.SetProperties(props); err != nil {
		t.Fatal(err)
	}
	out, err := tx.Commit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func anyAge(cfg maintenance.Config) maintenance.Config {
	cfg.CandidateMinAge = -1
	return cfg
}

// TestCompactDataSmallFiles: 200 small files written by iceberg-go are
// rewritten into one file in one replace snapshot; the rows are the same,
// and the snapshot before the compaction still reads the old files.
func TestCompactDataSmallFiles(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	tbl := f.createTable(t, "small", iceberg.Properties{table.WriteTargetFileSizeBytesKey: "1"}, 0)
	tbl = appendSmallFiles(t, tbl, 0, 1500, false)
	for i := int64(0); i < 4; i++ {
		tbl = appendSmallFiles(t, tbl, 1500+i*100, 100, false)
	}
	// And 10 more files from `ice insert`, one commit.
	f.iceInsert(t, "ops.small", 1900, 10, 10)
	tbl = f.load(t, "small")
	if n := len(dataFiles(t, tbl)); n != 200 {
		t.Fatalf("%d data files written, want 200", n)
	}
	tbl = setProps(t, tbl, iceberg.Properties{table.WriteTargetFileSizeBytesKey: "4194304"})
	before := scanIDs(t, tbl)
	beforeSnap := tbl.CurrentSnapshot().SnapshotID

	dry, err := f.jobs(t, anyAge(maintenance.Config{DryRun: true})).CompactData(ctx, ident("small"))
	if err != nil {
		t.Fatal(err)
	}
	if dry.Compaction == nil || dry.Compaction.InputFiles != 200 || len(dry.Compaction.Files) != 200 || dry.Compaction.OutputFiles != 1 {
		t.Fatalf("dry-run plan: %+v", dry.Compaction)
	}
	if now := f.load(t, "small"); now.MetadataLocation() != tbl.MetadataLocation() {
		t.Fatalf("the dry run changed the table: %s -> %s", tbl.MetadataLocation(), now.MetadataLocation())
	}

	res, err := f.jobs(t, anyAge(maintenance.Config{})).CompactData(ctx, ident("small"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Compaction == nil || res.Compaction.InputFiles != 200 || res.Compaction.OutputFiles != 1 || res.Compaction.Snapshot == 0 {
		t.Fatalf("compaction: %+v", res.Compaction)
	}
	after := f.load(t, "small")
	if files := dataFiles(t, after); len(files) != 1 {
		t.Fatalf("%d data files after compaction, want 1", len(files))
	}
	if op := after.CurrentSnapshot().Summary.Operation; op != table.OpReplace {
		t.Fatalf("compaction snapshot operation %q, want replace", op)
	}
	if got := scanIDs(t, after); !slices.Equal(got, before) {
		t.Fatalf("rows changed: %d before, %d after", len(before), len(got))
	}
	if got := scanIDs(t, after, table.WithSnapshotID(beforeSnap)); !slices.Equal(got, before) {
		t.Fatalf("time travel to the snapshot before compaction: %d rows, want %d", len(got), len(before))
	}
	f.checkReferencedFilesExist(t, "small")

	// Nothing left to do: a second run plans nothing.
	again, err := f.jobs(t, anyAge(maintenance.Config{})).CompactData(ctx, ident("small"))
	if err != nil || again.Compaction != nil {
		t.Fatalf("second run: %+v, %v", again.Compaction, err)
	}
}

// TestCompactDataChoosesCandidates: files younger than the minimum age,
// partitions with fewer than minInputFiles candidates and tables that turn
// compaction off are left alone.
func TestCompactDataChoosesCandidates(t *testing.T) {
	f := newFixture(t, testenv.CatalogConfig(t))
	ctx := context.Background()
	tbl := f.createTable(t, "young", iceberg.Properties{table.WriteTargetFileSizeBytesKey: "1"}, 0)
	tbl = appendSmallFiles(t, tbl, 0, 60, false) // 6 files
	tbl = setProps(t, tbl, iceberg.Properties{table.WriteTargetFileSizeBytesKey: "1048576"})
	for name, cfg := range map[string]maintenance.Config{
		"files younger than the default 3h": {},
		"minInputFiles 7 of 6 candidates":   anyAge(maintenance.Config{MinInputFiles: 7}),
	} {
		res, err := f.jobs(t, cfg).CompactData(ctx, ident("young"))
		if err != nil || res.Compaction != nil {
			t.Fatalf("%s: compacted %+v, %v", name, res.Compaction, err)
		}
	}
	setProps(t, tbl, iceberg.Properties{maintenance.PropCompactionEnabled: "false"})
	res, err := f.jobs(t, anyAge(maintenance.Config{})).CompactData(ctx, ident("young"))
	if err != nil || res.Compaction != nil || !strings.Contains(res.Skipped, maintenance.PropCompactionEnabled) {
		t.Fatalf("disabled table: %+v, %v", res, err)
	}
	if n := len(dataFiles(t, f.load(t, "young"))); n != 6 {
		t.Fatalf("%d files, want the 6 untouched", n)
	}
}

// TestCompactDataPartitioned: each partition is compacted on its own and
// the output files keep their partition.
func TestCompactDataPartitioned(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	if err := f.cat.CreateNamespace(ctx, table.Identifier{"ops"}, nil); err != nil {
		t.Fatal(err)
	}
	spec := iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "region", Transform: iceberg.IdentityTransform{}})
	tbl, err := f.cat.CreateTable(ctx, table.Identifier{"ops", "parts"}, regionSchema, catalog.WithPartitionSpec(&spec),
		catalog.WithProperties(iceberg.Properties{table.WriteTargetFileSizeBytesKey: "1"}))
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 4; i++ {
		tbl = appendSmallFiles(t, tbl, i*100, 100, true)
	}
	tbl = setProps(t, tbl, iceberg.Properties{table.WriteTargetFileSizeBytesKey: "1048576"})
	before := scanIDs(t, tbl)
	if n := len(dataFiles(t, tbl)); n < 20 {
		t.Fatalf("only %d small files written", n)
	}
	res, err := f.jobs(t, anyAge(maintenance.Config{})).CompactData(ctx, ident("parts"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Compaction == nil || res.Compaction.Groups != 2 || res.Compaction.OutputFiles != 2 {
		t.Fatalf("compaction: %+v", res.Compaction)
	}
	after := f.load(t, "parts")
	regions := map[string]int{}
	for _, df := range dataFiles(t, after) {
		regions[fmt.Sprint(df.Partition()[1000])]++
	}
	if len(regions) != 2 || regions["eu"] != 1 || regions["us"] != 1 {
		t.Fatalf("files per partition after compaction: %v", regions)
	}
	if got := scanIDs(t, after); !slices.Equal(got, before) {
		t.Fatalf("rows changed: %d -> %d", len(before), len(got))
	}
	eu := scanIDs(t, after, table.WithRowFilter(iceberg.EqualTo(iceberg.Reference("region"), "eu")))
	if len(eu) != 200 || eu[0]%2 != 0 {
		t.Fatalf("region=eu after compaction: %d rows", len(eu))
	}
}

// TestCompactDataWithDeletes: rows removed by position deletes stay removed
// after the rewrite.
func TestCompactDataWithDeletes(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	tbl := f.createTable(t, "deletes", iceberg.Properties{table.WriteTargetFileSizeBytesKey: "1",
		"write.delete.mode": "merge-on-read", "format-version": "2"}, 0)
	tbl = appendSmallFiles(t, tbl, 0, 200, false)
	tx := tbl.NewTransaction()
	if err := tx.Delete(ctx, iceberg.LessThan(iceberg.Reference("id"), int64(15)), nil); err != nil {
		t.Fatal(err)
	}
	tbl, err := tx.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tbl = setProps(t, tbl, iceberg.Properties{table.WriteTargetFileSizeBytesKey: "1048576"})
	before := scanIDs(t, tbl)
	if len(before) != 185 || before[0] != 15 {
		t.Fatalf("after the delete: %d rows from %v", len(before), before[:1])
	}
	res, err := f.jobs(t, anyAge(maintenance.Config{})).CompactData(ctx, ident("deletes"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Compaction == nil || res.Compaction.OutputFiles == 0 {
		t.Fatalf("compaction: %+v %s", res.Compaction, res.Skipped)
	}
	if got := scanIDs(t, f.load(t, "deletes")); !slices.Equal(got, before) {
		t.Fatalf("rows after compacting a table with deletes: %d, want %d (first %v)", len(got), len(before), got[:min(3, len(got))])
	}
}

// TestCompactDataRacingAppenders: eight writers append through the REST
// API while compaction runs again and again: every acknowledged append is
// in the table afterwards, exactly once, and nothing else is.
func TestCompactDataRacingAppenders(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	tbl := f.createTable(t, "race", iceberg.Properties{table.WriteTargetFileSizeBytesKey: "1"}, 0)
	tbl = appendSmallFiles(t, tbl, 0, 100, false)
	setProps(t, tbl, iceberg.Properties{table.WriteTargetFileSizeBytesKey: "1048576"})
	const writers, appends = 8, 4
	var mu sync.Mutex
	acked := seqIDs(0, 100)
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	stop := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range appends {
				from := int64(1000 + (w*appends+a)*10)
				var err error
				// A writer that keeps losing the race retries, as a client
				// would: what matters is what was acknowledged.
				for try := 0; try < 500; try++ {
					var cur *table.Table
					if cur, err = f.cat.LoadTable(ctx, table.Identifier{"ops", "race"}); err == nil {
						at := rowsOf(from, 10, false)
						_, err = cur.AppendTable(ctx, at, 10, nil)
						at.Release()
					}
					if err == nil || !errors.Is(err, table.ErrCommitFailed) && !strings.Contains(err.Error(), "CommitFailed") {
						break
					}
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d append %d: %w", w, a, err)
					return
				}
				mu.Lock()
				acked = append(acked, seqIDs(from, 10)...)
				mu.Unlock()
			}
		}()
	}
	compactions := 0
	var compactErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		jobs := f.jobs(t, anyAge(maintenance.Config{}))
		for range 4 {
			select {
			case <-stop:
				return
			default:
			}
			res, err := jobs.CompactData(ctx, ident("race"))
			if err != nil {
				compactErr = err
				return
			}
			if res.Compaction != nil && res.Compaction.Snapshot != 0 {
				compactions++
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-done
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if compactErr != nil {
		t.Fatalf("compaction failed: %v", compactErr)
	}
	slices.Sort(acked)
	got := scanIDs(t, f.load(t, "race"))
	if !slices.Equal(got, acked) {
		t.Fatalf("after %d compactions: %d rows, %d acknowledged", compactions, len(got), len(acked))
	}
	t.Logf("%d compactions committed while %d writers appended", compactions, writers)
	f.checkReferencedFilesExist(t, "race")
}

func seqIDs(from, n int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = from + int64(i)
	}
	return out
}

// TestCompactManifests: the manifests of many appends are merged into one,
// with the same live data files and rows.
func TestCompactManifests(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	tbl := f.createTable(t, "manifests", nil, 12)
	before := scanIDs(t, tbl)
	manifests, err := tbl.CurrentSnapshot().Manifests(mustFS(t, tbl))
	if err != nil || len(manifests) < 12 {
		t.Fatalf("%d manifests before, %v", len(manifests), err)
	}
	filesBefore := len(dataFiles(t, tbl))
	dry, err := f.jobs(t, maintenance.Config{DryRun: true}).CompactManifests(ctx, ident("manifests"))
	if err != nil || dry.Compaction == nil || dry.Compaction.InputFiles != len(manifests) {
		t.Fatalf("dry run: %+v, %v", dry.Compaction, err)
	}
	if f.load(t, "manifests").MetadataLocation() != tbl.MetadataLocation() {
		t.Fatal("the dry run changed the table")
	}
	res, err := f.jobs(t, maintenance.Config{}).CompactManifests(ctx, ident("manifests"))
	if err != nil || res.Compaction == nil || res.Compaction.OutputFiles != 1 {
		t.Fatalf("manifest compaction: %+v, %v", res.Compaction, err)
	}
	after := f.load(t, "manifests")
	got, err := after.CurrentSnapshot().Manifests(mustFS(t, after))
	if err != nil || len(got) != 1 {
		t.Fatalf("%d manifests after, %v", len(got), err)
	}
	if n := len(dataFiles(t, after)); n != filesBefore {
		t.Fatalf("%d data files after, %d before", n, filesBefore)
	}
	if ids := scanIDs(t, after); !slices.Equal(ids, before) {
		t.Fatalf("rows changed: %d -> %d", len(before), len(ids))
	}
	f.checkReferencedFilesExist(t, "manifests")
}

func mustFS(t *testing.T, tbl *table.Table) icebergio.IO {
	t.Helper()
	fs, err := tbl.FS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// iceInsert runs `ice insert` of files Parquet files of rows ids each,
// starting at from, into the table, as a user would.
func (f *fixture) iceInsert(t *testing.T, tableName string, from int64, files, rows int64) {
	t.Helper()
	dir := t.TempDir()
	args := []string{"insert", tableName}
	for i := range files {
		at := rowsOf(from+i*rows, rows, false)
		p := filepath.Join(dir, fmt.Sprintf("part-%d.parquet", i))
		out, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := pqarrow.WriteTable(at, out, 1024, nil, pqarrow.DefaultWriterProps()); err != nil {
			t.Fatal(err)
		}
		at.Release()
		args = append(args, p)
	}
	s3 := f.cfg.S3
	cfgText := "uri: " + f.url + "\ns3:\n  endpoint: " + s3.Endpoint + "\n  pathStyleAccess: true\n  accessKeyID: " + s3.AccessKeyID +
		"\n  secretAccessKey: " + s3.SecretAccessKey + "\n  region: " + s3.Region + "\n"
	cfgPath := filepath.Join(dir, "ice.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := cli.Main(ctx, append([]string{"-c", cfgPath}, args...), cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(string) string { return "" }})
	if code != 0 {
		t.Fatalf("ice insert: exit %d: %s %s", code, stdout.String(), stderr.String())
	}
}

// TestCompactDataWithEqualityDeletes: rows removed by an equality delete
// stay removed after the rewrite, and stay removed for later snapshots.
func TestCompactDataWithEqualityDeletes(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	tbl := f.createTable(t, "eqdeletes", iceberg.Properties{table.WriteTargetFileSizeBytesKey: "1", "format-version": "2"}, 0)
	tbl = appendSmallFiles(t, tbl, 0, 200, false)
	dead := rowsOf(20, 10, false)
	defer dead.Release()
	tx := tbl.NewTransaction()
	records := func(yield func(arrow.RecordBatch, error) bool) {
		rdr := array.NewTableReader(dead, 100)
		defer rdr.Release()
		for rdr.Next() {
			if !yield(rdr.RecordBatch(), nil) {
				return
			}
		}
	}
	if err := tx.CommitEqualityDeletes(ctx, []int{1}, records, nil); err != nil {
		t.Fatal(err)
	}
	tbl, err := tx.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tbl = setProps(t, tbl, iceberg.Properties{table.WriteTargetFileSizeBytesKey: "1048576"})
	before := scanIDs(t, tbl)
	if len(before) != 190 || slices.Contains(before, 25) {
		t.Fatalf("after the equality delete: %d rows", len(before))
	}
	res, err := f.jobs(t, anyAge(maintenance.Config{})).CompactData(ctx, ident("eqdeletes"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Compaction == nil || res.Compaction.OutputFiles == 0 {
		t.Fatalf("compaction: %+v %s", res.Compaction, res.Skipped)
	}
	after := appendRows(t, f.load(t, "eqdeletes"), 1000) // a later snapshot on top
	got := scanIDs(t, after)
	if want := append(slices.Clone(before), seqIDs(1000, 10)...); !slices.Equal(got, want) {
		t.Fatalf("rows after compacting a table with equality deletes: %d, want %d (25 present: %v)", len(got), len(want), slices.Contains(got, 25))
	}
}
