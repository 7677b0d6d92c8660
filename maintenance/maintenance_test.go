package maintenance_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	_ "github.com/apache/iceberg-go/io/gocloud/s3"
	"github.com/apache/iceberg-go/table"
	clientv3 "go.etcd.io/etcd/client/v3"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/maintenance"
	"github.com/ice-rest-catalog/ice/service"
	"github.com/ice-rest-catalog/ice/warehouse"
)

var schema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
)

// fixture is a catalog server written to by iceberg-go's REST client, and a
// second service instance on the same etcd and warehouse for the jobs, as
// another replica would have.
type fixture struct {
	url string         // the catalog's REST URL
	cfg *config.Config // the catalog server's config
	cat *rest.Catalog
	svc *service.Service
	wh  *warehouse.Warehouse
}

func newFixture(t testing.TB, cfg *config.Config) *fixture {
	t.Helper()
	c := testenv.StartCatalog(t, cfg)
	cli, err := etcd.Connect(context.Background(), clientv3.Config{Endpoints: []string{c.Server.EtcdEndpoint()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	wh, err := warehouse.Open(context.Background(), warehouse.Config{Location: cfg.Warehouse, S3: warehouse.S3Config{
		Endpoint: cfg.S3.Endpoint, PathStyleAccess: cfg.S3.PathStyleAccess, AccessKeyID: cfg.S3.AccessKeyID,
		SecretAccessKey: cfg.S3.SecretAccessKey, Region: cfg.S3.Region}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	svc := service.New(service.Config{Store: etcd.NewStore(cli, cfg.Name), Warehouse: wh, Log: testenv.DiscardLogger()})
	var opts []rest.Option
	if cfg.S3.AccessKeyID != "" {
		opts = append(opts, rest.WithHeaders(map[string]string{"X-Iceberg-Access-Delegation": "vended-credentials"}))
	}
	return &fixture{url: c.URL, cfg: cfg, cat: testenv.Client(t, c.URL, opts...), svc: svc, wh: wh}
}

func (f *fixture) jobs(t *testing.T, cfg maintenance.Config) *maintenance.Jobs {
	t.Helper()
	j, err := maintenance.New(f.svc, f.wh, cfg, testenv.DiscardLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// createTable creates ns.name with props and appends batches of 10 rows.
func (f *fixture) createTable(t *testing.T, name string, props iceberg.Properties, batches int) *table.Table {
	t.Helper()
	ctx := context.Background()
	if err := f.cat.CreateNamespace(ctx, table.Identifier{"ops"}, nil); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	tbl, err := f.cat.CreateTable(ctx, table.Identifier{"ops", name}, schema, catalog.WithProperties(props))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < batches; i++ {
		tbl = appendRows(t, tbl, int64(i*10))
	}
	return tbl
}

func appendRows(t *testing.T, tbl *table.Table, from int64) *table.Table {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i := from; i < from+10; i++ {
		b.Field(0).(*array.Int64Builder).Append(i)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	at := array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
	defer at.Release()
	out, err := tbl.AppendTable(context.Background(), at, 100, nil)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return out
}

func (f *fixture) load(t *testing.T, name string) *table.Table {
	t.Helper()
	tbl, err := f.cat.LoadTable(context.Background(), table.Identifier{"ops", name})
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func rowCount(t *testing.T, tbl *table.Table) int64 {
	t.Helper()
	got, err := tbl.Scan().ToArrowTable(context.Background())
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	defer got.Release()
	return got.NumRows()
}

func ident(name string) ice.TableIdent {
	return ice.TableIdent{Namespace: ice.Namespace{"ops"}, Name: name}
}

// checkReferencedFilesExist opens every file that the current metadata file
// and the metadata files of its log reach: the jobs' one rule.
func (f *fixture) checkReferencedFilesExist(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	cur, err := f.svc.LoadTable(ctx, ident(name))
	if err != nil {
		t.Fatal(err)
	}
	fio, err := f.wh.FileIO(ctx, cur.Location)
	if err != nil {
		t.Fatal(err)
	}
	mds := map[string]table.Metadata{cur.Location: cur.Metadata.Parsed}
	for e := range cur.Metadata.Parsed.PreviousFiles() {
		md, err := f.wh.ReadMetadata(ctx, e.MetadataFile)
		if err != nil {
			t.Fatalf("metadata log entry %s: %v", e.MetadataFile, err)
		}
		mds[e.MetadataFile] = md.Parsed
	}
	checked := 0
	open := func(p string) {
		r, err := fio.Open(p)
		if err != nil {
			t.Fatalf("referenced file %s is gone: %v", p, err)
		}
		r.Close()
		checked++
	}
	for _, md := range mds {
		for _, s := range md.Snapshots() {
			open(s.ManifestList)
			mfs, err := s.Manifests(fio)
			if err != nil {
				t.Fatalf("snapshot %d: %v", s.SnapshotID, err)
			}
			for _, mf := range mfs {
				open(mf.FilePath())
				entries, err := mf.FetchEntries(fio, false)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range entries {
					open(e.DataFile().FilePath())
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no referenced file checked")
	}
}

func TestExpireSnapshotsKeepsMinimumAndHonoursTableOverride(t *testing.T) {
	f := newFixture(t, testenv.CatalogConfig(t))
	f.createTable(t, "events", nil, 3)
	f.createTable(t, "keep3", iceberg.Properties{"history.expire.min-snapshots-to-keep": "3"}, 3)
	time.Sleep(5 * time.Millisecond) // every snapshot is now older than the 1ms maximum age
	jobs := f.jobs(t, maintenance.Config{MaxSnapshotAge: time.Millisecond, MinSnapshotsToKeep: 1})

	dry := f.jobs(t, maintenance.Config{MaxSnapshotAge: time.Millisecond, MinSnapshotsToKeep: 1, DryRun: true})
	res, err := dry.ExpireSnapshots(context.Background(), ident("events"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Expired) != 2 || len(f.load(t, "events").Metadata().Snapshots()) != 3 {
		t.Fatalf("dry run: would expire %v, table has %d snapshots; want 2 listed and 3 kept", res.Expired, len(f.load(t, "events").Metadata().Snapshots()))
	}

	before := f.load(t, "events")
	res, err = jobs.ExpireSnapshots(context.Background(), ident("events"))
	if err != nil {
		t.Fatal(err)
	}
	after := f.load(t, "events")
	if len(res.Expired) != 2 || len(after.Metadata().Snapshots()) != 1 {
		t.Fatalf("expired %v, %d snapshots left; want 2 expired, 1 left", res.Expired, len(after.Metadata().Snapshots()))
	}
	if after.CurrentSnapshot().SnapshotID != before.CurrentSnapshot().SnapshotID {
		t.Fatal("the current snapshot was expired")
	}
	if n := rowCount(t, after); n != 30 {
		t.Fatalf("rows = %d, want 30", n)
	}
	f.checkReferencedFilesExist(t, "events")

	res, err = jobs.ExpireSnapshots(context.Background(), ident("keep3"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Expired) != 0 || len(f.load(t, "keep3").Metadata().Snapshots()) != 3 {
		t.Fatalf("history.expire.min-snapshots-to-keep=3 ignored: expired %v", res.Expired)
	}
}

// TestDeleteOldMetadata: once the metadata files that mention the expired
// snapshots leave the log, they go (the server's commit deletes them when
// the table asks for it), and the expired snapshots' files, which only those
// metadata files reached, go with the orphan job.
func TestDeleteOldMetadataHonoursTableProperties(t *testing.T) {
	f := newFixture(t, testenv.CatalogConfig(t))
	props := iceberg.Properties{"write.metadata.delete-after-commit.enabled": "true", "write.metadata.previous-versions-max": "1"}
	f.createTable(t, "trimmed", props, 3)
	f.createTable(t, "untouched", iceberg.Properties{"write.metadata.previous-versions-max": "1"}, 3)
	time.Sleep(5 * time.Millisecond)
	jobs := f.jobs(t, maintenance.Config{MaxSnapshotAge: time.Millisecond, MinSnapshotsToKeep: 1, OrphanRetention: time.Millisecond})
	ctx := context.Background()

	expiredLists := map[string]bool{}
	for _, s := range f.load(t, "trimmed").Metadata().Snapshots()[:2] {
		expiredLists[s.ManifestList] = true
	}
	res, err := jobs.ExpireSnapshots(ctx, ident("trimmed"))
	if err != nil || len(res.Expired) != 2 {
		t.Fatalf("expire: %v %v", res.Expired, err)
	}
	if len(res.Deleted) != 0 {
		t.Fatalf("expire deleted %v while the logged metadata file still mentions them", res.Deleted)
	}
	// A commit through the server (iceberg-go's client would delete the
	// trimmed metadata file itself) makes the pre-expiry metadata leave the log.
	if _, _, err := f.svc.CommitTable(ctx, service.TableChange{ID: ident("trimmed"),
		Updates: table.Updates{table.NewSetPropertiesUpdate(iceberg.Properties{"owner": "ops"})}}, nil); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"trimmed", "untouched"} {
		res, err := jobs.DeleteOldMetadata(ctx, ident(name))
		if err != nil {
			t.Fatal(err)
		}
		dir := strings.TrimPrefix(f.load(t, name).Location(), "file://") + "/metadata"
		files, _ := filepath.Glob(filepath.Join(dir, "*.metadata.json"))
		switch name {
		case "trimmed":
			if len(files) != 2 {
				t.Fatalf("%s: %d metadata files left (%v), want current + 1 logged; deleted %v", name, len(files), files, res)
			}
			time.Sleep(5 * time.Millisecond) // past the orphan retention
			orphans, err := jobs.RemoveOrphanFiles(ctx, ident(name))
			if err != nil {
				t.Fatal(err)
			}
			res.Deleted = append(res.Deleted, orphans.Deleted...)
			for l := range expiredLists {
				if _, err := os.Stat(strings.TrimPrefix(l, "file://")); !os.IsNotExist(err) {
					t.Fatalf("expired snapshot's manifest list %s not deleted (%v); deleted %v", l, err, res.Deleted)
				}
			}
			if n := rowCount(t, f.load(t, name)); n != 30 {
				t.Fatalf("rows = %d, want 30", n)
			}
		case "untouched":
			if len(res.Deleted) != 0 || len(files) != 4 {
				t.Fatalf("without delete-after-commit: deleted %v, %d files", res.Deleted, len(files))
			}
		}
		f.checkReferencedFilesExist(t, name)
	}
}

func TestRemoveOrphanFilesDryRunThenDelete(t *testing.T) {
	f := newFixture(t, testenv.CatalogConfig(t))
	f.createTable(t, "events", nil, 2)
	dataDir := strings.TrimPrefix(f.load(t, "events").Location(), "file://") + "/data"
	oldOrphan := filepath.Join(dataDir, "crashed-writer.parquet")
	newOrphan := filepath.Join(dataDir, "in-flight.parquet")
	for _, p := range []string{oldOrphan, newOrphan} {
		if err := os.WriteFile(p, []byte("not referenced"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-10 * 24 * time.Hour)
	if err := os.Chtimes(oldOrphan, old, old); err != nil {
		t.Fatal(err)
	}
	// Age every referenced file too: only reachability may save them.
	filepath.Walk(filepath.Dir(dataDir), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && p != newOrphan {
			os.Chtimes(p, old, old)
		}
		return nil
	})
	ctx := context.Background()

	dry, err := f.jobs(t, maintenance.Config{DryRun: true}).RemoveOrphanFiles(ctx, ident("events"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Deleted) != 1 || !strings.HasSuffix(dry.Deleted[0], "crashed-writer.parquet") {
		t.Fatalf("dry run lists %v, want only the old orphan", dry.Deleted)
	}
	if _, err := os.Stat(oldOrphan); err != nil {
		t.Fatalf("dry run deleted the orphan: %v", err)
	}

	res, err := f.jobs(t, maintenance.Config{}).RemoveOrphanFiles(ctx, ident("events"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != 1 {
		t.Fatalf("deleted %v, want the old orphan", res.Deleted)
	}
	if _, err := os.Stat(oldOrphan); !os.IsNotExist(err) {
		t.Fatalf("old orphan still there: %v", err)
	}
	if _, err := os.Stat(newOrphan); err != nil {
		t.Fatalf("orphan younger than the retention period deleted: %v", err)
	}
	f.checkReferencedFilesExist(t, "events")
	if n := rowCount(t, f.load(t, "events")); n != 20 {
		t.Fatalf("rows = %d, want 20", n)
	}
}

// TestExpireRacesCommit runs both orders of an expiry and a client append on
// the same table. Either way both changes land, and nothing referenced goes.
func TestExpireRacesCommit(t *testing.T) {
	f := newFixture(t, testenv.CatalogConfig(t))
	f.createTable(t, "clientfirst", nil, 3)
	f.createTable(t, "expirefirst", nil, 3)
	time.Sleep(5 * time.Millisecond)
	ctx := context.Background()
	jobs := f.jobs(t, maintenance.Config{MaxSnapshotAge: time.Millisecond, MinSnapshotsToKeep: 1})

	// The client commits between the expiry's read and its commit: the
	// expiry's assert-ref-snapshot-id fails, and it is planned again.
	raced := 0
	maintenance.SetBeforeCommit(jobs, func(id ice.TableIdent) {
		if id.Name == "clientfirst" && raced == 0 {
			raced++
			appendRows(t, f.load(t, "clientfirst"), 30)
		}
	})
	res, err := jobs.ExpireSnapshots(ctx, ident("clientfirst"))
	if err != nil {
		t.Fatal(err)
	}
	tbl := f.load(t, "clientfirst")
	if raced != 1 || len(res.Expired) != 3 || len(tbl.Metadata().Snapshots()) != 1 {
		t.Fatalf("raced %d, expired %v, %d snapshots left; want the 3 older ones expired after the client's append", raced, res.Expired, len(tbl.Metadata().Snapshots()))
	}
	if n := rowCount(t, tbl); n != 40 {
		t.Fatalf("rows = %d, want 40: the client's append was lost", n)
	}
	f.checkReferencedFilesExist(t, "clientfirst")

	// The expiry commits while a client holds the older state; the client's
	// append then lands on the expired state.
	stale := f.load(t, "expirefirst")
	maintenance.SetBeforeCommit(jobs, nil)
	if res, err := jobs.ExpireSnapshots(ctx, ident("expirefirst")); err != nil || len(res.Expired) != 2 {
		t.Fatalf("expire: %v %v", res.Expired, err)
	}
	appendRows(t, stale, 30)
	tbl = f.load(t, "expirefirst")
	if n := rowCount(t, tbl); n != 40 {
		t.Fatalf("rows = %d, want 40", n)
	}
	if len(tbl.Metadata().Snapshots()) != 2 {
		t.Fatalf("%d snapshots, want the retained one and the client's", len(tbl.Metadata().Snapshots()))
	}
	f.checkReferencedFilesExist(t, "expirefirst")
	for _, name := range []string{"clientfirst", "expirefirst"} {
		if _, err := f.jobs(t, maintenance.Config{OrphanRetention: time.Nanosecond}).RemoveOrphanFiles(ctx, ident(name)); err != nil {
			t.Fatal(err)
		}
		f.checkReferencedFilesExist(t, name)
	}
}

// TestRunOnceOnS3 runs every job once over a catalog on an S3 warehouse.
func TestRunOnceOnS3(t *testing.T) {
	s3 := testenv.StartS3(t)
	s3.CreateBucket(t, "warehouse")
	cfg := testenv.CatalogConfig(t)
	cfg.Warehouse = "s3://warehouse/prefix"
	cfg.S3 = config.S3{Endpoint: s3.Endpoint, PathStyleAccess: true, AccessKeyID: s3.AccessKey, SecretAccessKey: s3.SecretKey, Region: s3.Region}
	cfg.VendedCredentials.StaticKeys = true // the fixture's client writes with the vended keys
	f := newFixture(t, cfg)
	f.createTable(t, "events", iceberg.Properties{"write.metadata.delete-after-commit.enabled": "true", "write.metadata.previous-versions-max": "1"}, 3)
	time.Sleep(5 * time.Millisecond)
	rep, err := f.jobs(t, maintenance.Config{MaxSnapshotAge: time.Millisecond, MinSnapshotsToKeep: 1, OrphanRetention: time.Nanosecond}).RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 || rep.Tables != 1 {
		t.Fatalf("report: %+v", rep)
	}
	var jobs []string
	for _, r := range rep.Results {
		jobs = append(jobs, r.Job)
	}
	sort.Strings(jobs)
	if len(jobs) == 0 || jobs[0] != maintenance.JobMetadataFiles && jobs[0] != maintenance.JobExpireSnapshots {
		t.Fatalf("results: %+v", rep.Results)
	}
	tbl := f.load(t, "events")
	if len(tbl.Metadata().Snapshots()) != 1 || rowCount(t, tbl) != 30 {
		t.Fatalf("%d snapshots, want 1 with 30 rows", len(tbl.Metadata().Snapshots()))
	}
	f.checkReferencedFilesExist(t, "events")
}

// TestRemoveOrphanFilesSparesOtherTables: a table nested in another's
// location, or a second table registered at its location, would make the
// other's files look like orphans; the location rule (issue 14) refuses
// both, and the orphan job then finds nothing to delete. (The job's own
// skip of shared and nested locations remains, for entries written by the
// Java server, which has no location index.)
func TestRemoveOrphanFilesSparesOtherTables(t *testing.T) {
	f := newFixture(t, testenv.CatalogConfig(t))
	ctx := context.Background()
	outer := f.createTable(t, "events", nil, 1)
	// Namespace ops.events would put its tables under the table ops.events.
	if err := f.cat.CreateNamespace(ctx, table.Identifier{"ops", "events"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cat.CreateTable(ctx, table.Identifier{"ops", "events", "inner"}, schema); err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Fatalf("a table nested in another's location: %v", err)
	}
	if _, err := f.cat.RegisterTable(ctx, table.Identifier{"ops", "alias"}, outer.MetadataLocation()); err == nil {
		t.Fatal("a second table registered at a live table's location")
	}
	jobs := f.jobs(t, maintenance.Config{OrphanRetention: time.Nanosecond})
	time.Sleep(5 * time.Millisecond)
	res, err := jobs.RemoveOrphanFiles(ctx, ident("events"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != 0 {
		t.Fatalf("deleted %v", res.Deleted)
	}
	if n := rowCount(t, f.load(t, "events")); n != 10 {
		t.Fatalf("rows = %d, want 10", n)
	}
}
