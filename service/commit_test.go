package service_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/service"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// faultyStore is the real etcd Store with one injected fault: the answer of
// SwapTables gets lost, after or instead of applying it. It stands in for a
// timeout or a dropped connection at the worst moment, which a real etcd
// cannot be made to produce on demand.
type faultyStore struct {
	*etcd.Store
	apply      bool // apply the swap before losing the answer
	beforeLoss func()
	faults     int
}

func (f *faultyStore) SwapTables(ctx context.Context, swaps []ice.TableSwap, claim *ice.IdempotencyClaim) error {
	if f.faults == 0 {
		return f.Store.SwapTables(ctx, swaps, claim)
	}
	f.faults--
	if f.apply {
		if err := f.Store.SwapTables(ctx, swaps, claim); err != nil {
			return err
		}
	}
	if f.beforeLoss != nil {
		f.beforeLoss()
	}
	return &ice.Error{Code: ice.EUNKNOWNSTATE, Message: "injected: answer lost", Err: errors.New("connection reset")}
}

type fixture struct {
	svc   *service.Service
	store *faultyStore
	dir   string
	id    ice.TableIdent
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	cli := testenv.EtcdClient(t)
	dir := t.TempDir()
	wh, err := warehouse.Open(ctx, warehouse.Config{Location: "file://" + dir})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: &faultyStore{Store: etcd.NewStore(cli, "default")}, dir: dir,
		id: ice.TableIdent{Namespace: ice.Namespace{"db"}, Name: "t"}}
	f.svc = service.New(service.Config{Store: f.store, Warehouse: wh, Log: testenv.DiscardLogger()})
	if err := f.svc.CreateNamespace(ctx, f.id.Namespace, nil); err != nil {
		t.Fatal(err)
	}
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})
	if _, err := f.svc.CreateTable(ctx, f.id.Namespace, service.CreateTable{Name: "t", Schema: sc}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) metadataFiles(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(f.dir, "db", "t", "metadata", "*.metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func setProp(k, v string) service.TableChange {
	return service.TableChange{ID: ice.TableIdent{Namespace: ice.Namespace{"db"}, Name: "t"},
		Updates: table.Updates{table.NewSetPropertiesUpdate(iceberg.Properties{k: v})}}
}

// A commit applied by etcd whose answer was lost is recognised as applied.
func TestLostAnswerOfAnAppliedCommitIsSuccess(t *testing.T) {
	f := newFixture(t)
	f.store.apply, f.store.faults = true, 1
	tbl, _, err := f.svc.CommitTable(context.Background(), setProp("a", "1"), nil)
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	cur, err := f.svc.LoadTable(context.Background(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Location != tbl.Location || cur.Metadata.Parsed.Properties()["a"] != "1" {
		t.Fatalf("pointer %s, commit answered %s", cur.Location, tbl.Location)
	}
}

// A commit whose answer was lost while the pointer still shows the base may
// yet be applied: the client must hear CommitStateUnknown and the file stays.
func TestLostAnswerWithUnmovedPointerIsUnknownAndKeepsTheFile(t *testing.T) {
	f := newFixture(t)
	f.store.faults = 1
	before := len(f.metadataFiles(t))
	_, _, err := f.svc.CommitTable(context.Background(), setProp("a", "1"), nil)
	var e *ice.Error
	if !errors.As(err, &e) || e.Code != ice.EUNKNOWNSTATE || e.Type != "CommitStateUnknownException" {
		t.Fatalf("err = %v, want CommitStateUnknown", err)
	}
	if after := len(f.metadataFiles(t)); after != before+1 {
		t.Fatalf("metadata files %d -> %d: the possibly referenced file must be kept", before, after)
	}
}

// If another commit moved the pointer before we re-read it, our transaction
// can never apply: the server retries from the new base and succeeds, and
// the other commit is kept.
func TestLostAnswerAfterAConcurrentCommitRetries(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other := service.New(service.Config{Store: f.store.Store, Warehouse: mustWarehouse(t, f.dir), Log: testenv.DiscardLogger()})
	f.store.faults = 1
	f.store.beforeLoss = func() {
		if _, _, err := other.CommitTable(ctx, setProp("b", "2"), nil); err != nil {
			t.Errorf("concurrent commit: %v", err)
		}
	}
	if _, _, err := f.svc.CommitTable(ctx, setProp("a", "1"), nil); err != nil {
		t.Fatalf("commit: %v", err)
	}
	cur, err := f.svc.LoadTable(ctx, f.id)
	if err != nil {
		t.Fatal(err)
	}
	props := cur.Metadata.Parsed.Properties()
	if props["a"] != "1" || props["b"] != "2" {
		t.Fatalf("properties %v: both commits must be present", props)
	}
}

// A requirement that fails against the fresh base is a 409, not a retry.
func TestStaleRequirementIsCommitFailed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cur, err := f.svc.LoadTable(ctx, f.id)
	if err != nil {
		t.Fatal(err)
	}
	ch := setProp("a", "1")
	ch.Requirements = table.Requirements{table.AssertTableUUID(cur.Metadata.Parsed.TableUUID())}
	if _, _, err := f.svc.CommitTable(ctx, ch, nil); err != nil {
		t.Fatal(err)
	}
	ch.Requirements = table.Requirements{table.AssertLastAssignedFieldID(99)}
	before := len(f.metadataFiles(t))
	_, _, err = f.svc.CommitTable(ctx, ch, nil)
	if ice.ErrorCode(err) != ice.ECONFLICT || !strings.Contains(err.Error(), "requirement failed") {
		t.Fatalf("err = %v, want CommitFailed", err)
	}
	if after := len(f.metadataFiles(t)); after != before {
		t.Fatalf("a rejected commit left a metadata file (%d -> %d)", before, after)
	}
}

func TestDropWithPurgeDeletesFiles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, _, err := f.svc.CommitTable(ctx, setProp("a", "1"), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(f.metadataFiles(t)); n != 2 {
		t.Fatalf("metadata files = %d, want 2", n)
	}
	if err := f.svc.DropTable(ctx, f.id, true); err != nil {
		t.Fatal(err)
	}
	if n := len(f.metadataFiles(t)); n != 0 {
		t.Fatalf("purge left %d metadata files", n)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "db")); err != nil {
		t.Fatal(err) // the namespace directory is not the table's to remove
	}
}

func TestRegisterTable(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cur, err := f.svc.LoadTable(ctx, f.id)
	if err != nil {
		t.Fatal(err)
	}
	copyID := ice.TableIdent{Namespace: ice.Namespace{"db"}, Name: "copy"}
	// While db.t holds the location, a second table there would share
	// (and could purge) its files.
	if _, err := f.svc.RegisterTable(ctx, copyID, cur.Location, false); ice.ErrorCode(err) != ice.EINVALID {
		t.Fatalf("register of a live table's metadata under another name: %v", err)
	}
	if _, err := f.svc.UnregisterTable(ctx, f.id); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RegisterTable(ctx, copyID, cur.Location, false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RegisterTable(ctx, copyID, cur.Location, false); ice.ErrorCode(err) != ice.EEXISTS {
		t.Fatalf("register over an existing table: %v", err)
	}
	next, _, err := f.svc.CommitTable(ctx, service.TableChange{ID: copyID, Updates: setProp("a", "1").Updates}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RegisterTable(ctx, copyID, next.Location, true); err != nil {
		t.Fatalf("register with overwrite: %v", err)
	}
	got, err := f.svc.LoadTable(ctx, copyID)
	if err != nil || got.Location != next.Location {
		t.Fatalf("overwritten pointer = %v, %v", got, err)
	}
	if _, err := f.svc.RegisterTable(ctx, ice.TableIdent{Namespace: ice.Namespace{"db"}, Name: "x"}, "file:///nope/1.metadata.json", false); ice.ErrorCode(err) != ice.EINVALID {
		t.Fatalf("register of a missing file: %v", err)
	}
}

func mustWarehouse(t *testing.T, dir string) *warehouse.Warehouse {
	t.Helper()
	wh, err := warehouse.Open(context.Background(), warehouse.Config{Location: "file://" + dir})
	if err != nil {
		t.Fatal(err)
	}
	return wh
}
