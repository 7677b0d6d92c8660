package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3lock/v3lockpb"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/maintenance"
	"github.com/ice-rest-catalog/ice/server"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// javaFixture is a server started from the Java ice v0.19 config fixture,
// on a real etcd and a real versitygw.
type javaFixture struct {
	cfg   *config.Config
	url   string
	cli   *clientv3.Client
	wh    *warehouse.Warehouse
	s3    *testenv.S3Server
	logs  *syncBuffer
	props iceberg.Properties // S3 access for clients
}

const fixtureToken = "fixture-writer-token"

// startJavaFixture starts a server from config/testdata/java-ice-v0.19.yaml,
// its ${...} pointed at this test's etcd and S3. edit may change what the
// test needs changed (a shorter lock timeout); nil keeps the file as is.
func startJavaFixture(t *testing.T, edit func(*config.Config)) *javaFixture {
	t.Helper()
	e := testenv.StartEmbeddedEtcd(t)
	s3 := testenv.StartS3(t)
	s3.CreateBucket(t, "lake")
	vars := map[string]string{
		"ICE_FIXTURE_ADDR": "127.0.0.1:0", "ICE_FIXTURE_DEBUG_ADDR": "127.0.0.1:0",
		"ICE_FIXTURE_ETCD": e.Endpoint, "ICE_FIXTURE_BUCKET": "lake",
		"ICE_FIXTURE_S3_ENDPOINT": s3.Endpoint, "ICE_FIXTURE_S3_ACCESS_KEY": s3.AccessKey,
		"ICE_FIXTURE_S3_SECRET_KEY": s3.SecretKey, "ICE_FIXTURE_TOKEN": fixtureToken,
	}
	data, err := os.ReadFile("../config/testdata/java-ice-v0.19.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(data, func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("the v0.19 fixture is refused at start-up: %v", err)
	}
	if edit != nil {
		edit(cfg)
	}
	logs := &syncBuffer{}
	srv, err := server.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatalf("start from the v0.19 fixture: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	testenv.WaitReady(t, "http://"+srv.DebugAddr()+"/readyz")
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	wh, err := warehouse.Open(context.Background(), warehouse.Config{Location: cfg.Warehouse,
		S3: warehouse.S3Config{Endpoint: s3.Endpoint, PathStyleAccess: true, AccessKeyID: s3.AccessKey, SecretAccessKey: s3.SecretKey, Region: s3.Region}})
	if err != nil {
		t.Fatal(err)
	}
	return &javaFixture{cfg: cfg, url: "http://" + srv.Addr(), cli: cli, wh: wh, s3: s3, logs: logs, props: iceberg.Properties{
		iceio.S3EndpointURL: s3.Endpoint, iceio.S3AccessKeyID: s3.AccessKey, iceio.S3SecretAccessKey: s3.SecretKey,
		iceio.S3Region: s3.Region, iceio.S3ForceVirtualAddressing: "false",
	}}
}

func (f *javaFixture) client(t *testing.T) *rest.Catalog {
	return testenv.Client(t, f.url, rest.WithOAuthToken(fixtureToken), rest.WithAdditionalProps(f.props))
}

// TestJavaV019FixtureStarts: the server starts from a Java ice v0.19 config
// file unchanged, names each key it does not act on with the reason, and
// serves writes and reads (through the commit lock the file enables).
func TestJavaV019FixtureStarts(t *testing.T) {
	f := startJavaFixture(t, nil)
	for _, key := range []string{"adminAddr", "iceberg", "maintenance.orphanWhitelist"} {
		if !strings.Contains(f.logs.String(), "key="+key+" reason=") {
			t.Errorf("start-up log does not name ignored key %s with a reason:\n%s", key, f.logs.String())
		}
	}
	if !strings.Contains(f.logs.String(), "commit lock enabled") {
		t.Errorf("start-up log does not say the commit lock is on:\n%s", f.logs.String())
	}
	runEndToEnd(t, f.client(t))
	resp, err := f.cli.Get(context.Background(), "locks/v1/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 0 {
		t.Errorf("%d commit lock keys left behind", resp.Count)
	}
}

// javaStyleWriter commits the way the Java ice-rest-catalog v0.19 does
// with commitLock enabled (a test double: no JVM runs here): under a fresh
// lease it calls etcd's Lock RPC on locks/v1/<catalog>/<ns.table>, reads
// the table's pointer and its version, applies its change to that
// metadata, writes a new metadata file, and puts the pointer only if the
// key's version has not moved; then it unlocks and revokes the lease.
type javaStyleWriter struct {
	cli         *clientv3.Client
	wh          *warehouse.Warehouse
	ident       table.Identifier
	key         string // the table's pointer key
	lockName    string
	casFailures int
}

type javaCommitter struct {
	w       *javaStyleWriter
	version int64
	base    string
	baseMd  table.Metadata
}

func (c *javaCommitter) LoadTable(context.Context, table.Identifier) (*table.Table, error) {
	return nil, errors.New("not used")
}

func (c *javaCommitter) CommitTable(ctx context.Context, _ table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	for _, r := range reqs {
		if err := r.Validate(c.baseMd); err != nil {
			return nil, "", err
		}
	}
	md, err := table.UpdateTableMetadata(c.baseMd, updates, c.base)
	if err != nil {
		return nil, "", err
	}
	loc := fmt.Sprintf("%s/metadata/%05d-%s.metadata.json", md.Location(), 90000+c.version, uuid.NewString())
	if _, err := c.w.wh.WriteMetadata(ctx, loc, md, nil); err != nil {
		return nil, "", err
	}
	val, _ := json.Marshal(map[string]string{"table_type": "ICEBERG", "metadata_location": loc, "previous_metadata_location": c.base})
	resp, err := c.w.cli.Txn(ctx).If(clientv3.Compare(clientv3.Version(c.w.key), "=", c.version)).
		Then(clientv3.OpPut(c.w.key, string(val))).Commit()
	if err != nil {
		return nil, "", err
	}
	if !resp.Succeeded {
		c.w.casFailures++
		return nil, "", errors.New("java-style CAS lost: commit failed")
	}
	return md, loc, nil
}

func (w *javaStyleWriter) append(ctx context.Context, t testing.TB, from, n int64) error {
	lease, err := w.cli.Grant(ctx, 30)
	if err != nil {
		return err
	}
	defer w.cli.Revoke(context.WithoutCancel(ctx), lease.ID)
	locks := v3lockpb.NewLockClient(w.cli.ActiveConnection())
	held, err := locks.Lock(ctx, &v3lockpb.LockRequest{Name: []byte(w.lockName), Lease: int64(lease.ID)})
	if err != nil {
		return err
	}
	defer locks.Unlock(context.WithoutCancel(ctx), &v3lockpb.UnlockRequest{Key: held.Key})
	got, err := w.cli.Get(ctx, w.key)
	if err != nil || len(got.Kvs) != 1 {
		return fmt.Errorf("read pointer: %v", err)
	}
	var ptr map[string]string
	if err := json.Unmarshal(got.Kvs[0].Value, &ptr); err != nil {
		return err
	}
	base := ptr["metadata_location"]
	md, err := w.wh.ReadMetadata(ctx, base)
	if err != nil {
		return err
	}
	fio, err := w.wh.FileIO(ctx, md.Parsed.Location())
	if err != nil {
		return err
	}
	tbl := table.New(w.ident, md.Parsed, base, func(context.Context) (iceio.IO, error) { return fio, nil },
		&javaCommitter{w: w, version: got.Kvs[0].Version, base: base, baseMd: md.Parsed})
	_, err = tbl.AppendTable(ctx, eventBatch(t, from, n), 100, nil)
	return err
}

// TestCommitLockMixedFleet: our server (commitLock enabled, from the v0.19
// fixture) and Java-style writers append to one table at the same time.
// Every acknowledged append is present afterwards, nothing else is, and
// the Java-style writer never loses its compare-and-swap: it holds the
// same lock our commits take.
func TestCommitLockMixedFleet(t *testing.T) {
	f := startJavaFixture(t, nil)
	ctx := context.Background()
	cat := f.client(t)
	if err := cat.CreateNamespace(ctx, table.Identifier{"db"}, nil); err != nil {
		t.Fatal(err)
	}
	ident := table.Identifier{"db", "events"}
	if _, err := cat.CreateTable(ctx, ident, eventSchema); err != nil {
		t.Fatal(err)
	}
	const goWriters, javaWriters, appends, rows = 3, 2, 4, 5
	var mu sync.Mutex
	var acked []int64
	var wg sync.WaitGroup
	errs := make(chan error, goWriters+javaWriters)
	for g := range goWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range appends {
				from := int64((g*appends + a) * rows)
				var err error
				for try := 0; try < 30; try++ {
					var tbl *table.Table
					if tbl, err = cat.LoadTable(ctx, ident); err == nil {
						_, err = tbl.AppendTable(ctx, eventBatch(t, from, rows), 100, nil)
					}
					if err == nil || !strings.Contains(err.Error(), "CommitFailed") {
						break
					}
				}
				if err != nil {
					errs <- fmt.Errorf("go writer %d append %d: %w", g, a, err)
					return
				}
				mu.Lock()
				for i := from; i < from+rows; i++ {
					acked = append(acked, i)
				}
				mu.Unlock()
			}
		}()
	}
	jw := make([]*javaStyleWriter, javaWriters)
	for j := range javaWriters {
		jw[j] = &javaStyleWriter{cli: f.cli, wh: f.wh, ident: ident, key: "t/db/events", lockName: "locks/v1/default/db.events"}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range appends {
				from := int64(10000 + (j*appends+a)*rows)
				if err := jw[j].append(ctx, t, from, rows); err != nil {
					errs <- fmt.Errorf("java-style writer %d append %d: %w", j, a, err)
					return
				}
				mu.Lock()
				for i := from; i < from+rows; i++ {
					acked = append(acked, i)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for j, w := range jw {
		if w.casFailures != 0 {
			t.Errorf("java-style writer %d lost %d compare-and-swaps: our commits did not hold its lock", j, w.casFailures)
		}
	}
	tbl, err := cat.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	got := readIDs(t, tbl, nil)
	slices.Sort(acked)
	if fmt.Sprint(got) != fmt.Sprint(acked) {
		t.Fatalf("rows after the mixed fleet: %d, acknowledged %d\n got %v\nwant %v", len(got), len(acked), got, acked)
	}
	if len(acked) != (goWriters+javaWriters)*appends*rows {
		t.Fatalf("acknowledged %d rows, want all %d", len(acked), (goWriters+javaWriters)*appends*rows)
	}
}

// TestCommitLockTimeoutIs503: while a Java-style holder keeps the table's
// lock, our commit waits acquireTimeoutMs and answers 503 in the Iceberg
// error model; once released, the same commit succeeds.
func TestCommitLockTimeoutIs503(t *testing.T) {
	f := startJavaFixture(t, func(c *config.Config) { c.CommitLock.AcquireTimeoutMs = 300 })
	ctx := context.Background()
	cat := f.client(t)
	if err := cat.CreateNamespace(ctx, table.Identifier{"db"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateTable(ctx, table.Identifier{"db", "events"}, eventSchema); err != nil {
		t.Fatal(err)
	}
	lease, err := f.cli.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	locks := v3lockpb.NewLockClient(f.cli.ActiveConnection())
	held, err := locks.Lock(ctx, &v3lockpb.LockRequest{Name: []byte("locks/v1/default/db.events"), Lease: int64(lease.ID)})
	if err != nil {
		t.Fatal(err)
	}
	commit := func() (int, string) {
		body := `{"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`
		req, _ := http.NewRequest(http.MethodPost, f.url+"/v1/namespaces/db/tables/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+fixtureToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := commit(); code != http.StatusServiceUnavailable || !strings.Contains(body, `"code":503`) || !strings.Contains(body, "commit lock") {
		t.Fatalf("commit while the lock is held: %d %s, want 503 naming the commit lock", code, body)
	}
	if _, err := locks.Unlock(ctx, &v3lockpb.UnlockRequest{Key: held.Key}); err != nil {
		t.Fatal(err)
	}
	if code, body := commit(); code != http.StatusOK {
		t.Fatalf("commit after the lock was released: %d %s", code, body)
	}
}

// TestPerformMaintenanceCompactsUnderTheV019Config runs perform-maintenance
// with the v0.19 fixture's maintenance section (DATA_COMPACTION among its
// jobs; the minimum age set to -1 so fresh files qualify): --dry-run
// prints the plan and leaves the table as it was; the real run rewrites
// the small files into one, with the same rows, holding the commit lock.
func TestPerformMaintenanceCompactsUnderTheV019Config(t *testing.T) {
	f := startJavaFixture(t, func(c *config.Config) { c.Maintenance.DataCompactionCandidateMinAgeInHours = -1 })
	ctx := context.Background()
	cat := f.client(t)
	if err := cat.CreateNamespace(ctx, table.Identifier{"db"}, nil); err != nil {
		t.Fatal(err)
	}
	ident := table.Identifier{"db", "events"}
	tbl, err := cat.CreateTable(ctx, ident, eventSchema, catalog.WithProperties(iceberg.Properties{table.WriteTargetFileSizeBytesKey: "1"}))
	if err != nil {
		t.Fatal(err)
	}
	if tbl, err = tbl.AppendTable(ctx, eventBatch(t, 0, 100), 10, nil); err != nil {
		t.Fatal(err)
	}
	tx := tbl.NewTransaction()
	if err := tx.SetProperties(iceberg.Properties{table.WriteTargetFileSizeBytesKey: "1048576"}); err != nil {
		t.Fatal(err)
	}
	if tbl, err = tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	before := readIDs(t, tbl, nil)

	rep, err := server.PerformMaintenance(ctx, f.cfg, testenv.DiscardLogger(), true)
	if err != nil {
		t.Fatal(err)
	}
	var planned *maintenance.CompactionResult
	for _, r := range rep.Results {
		if r.Job == maintenance.JobDataCompaction {
			planned = r.Compaction
		}
	}
	if planned == nil || planned.InputFiles != 10 || len(planned.Files) != 10 {
		t.Fatalf("dry-run report lacks the compaction plan: %+v", rep.Results)
	}
	if now, err := cat.LoadTable(ctx, ident); err != nil || now.MetadataLocation() != tbl.MetadataLocation() {
		t.Fatalf("--dry-run changed the table (%v)", err)
	}

	if _, err := server.PerformMaintenance(ctx, f.cfg, testenv.DiscardLogger(), false); err != nil {
		t.Fatal(err)
	}
	after, err := cat.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := after.Scan().PlanFiles(ctx)
	if err != nil || len(tasks) != 1 {
		t.Fatalf("%d data files after perform-maintenance, want 1 (%v)", len(tasks), err)
	}
	if got := readIDs(t, after, nil); !slices.Equal(got, before) {
		t.Fatalf("rows changed: %d -> %d", len(before), len(got))
	}
}
