package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/apache/iceberg-go"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/service"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// softFixture is a service with soft drop on for the catalog and a table
// db.t with one extra commit.
func softFixture(t *testing.T, retention time.Duration) (*service.Service, *etcd.Store, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	wh, err := warehouse.Open(ctx, warehouse.Config{Location: "file://" + dir})
	if err != nil {
		t.Fatal(err)
	}
	store := etcd.NewStore(testenv.EtcdClient(t), "default")
	svc := service.New(service.Config{Store: store, Warehouse: wh, Log: testenv.DiscardLogger(),
		Deleted: store, SoftDrop: service.SoftDrop{Enabled: true, Retention: retention}})
	if err := svc.CreateNamespace(ctx, ice.Namespace{"db"}, nil); err != nil {
		t.Fatal(err)
	}
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})
	if _, err := svc.CreateTable(ctx, ice.Namespace{"db"}, service.CreateTable{Name: "t", Schema: sc}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CommitTable(ctx, setProp("a", "1"), nil); err != nil {
		t.Fatal(err)
	}
	return svc, store, dir
}

// A drop keeps the files and the record until retention ends; the purge
// then removes both, through the same purge as purgeRequested. An entry
// still in retention is left alone.
func TestSoftDropKeepsFilesUntilRetentionEnds(t *testing.T) {
	svc, _, dir := softFixture(t, time.Hour)
	ctx := context.Background()
	f := &fixture{dir: dir}
	id := ice.TableIdent{Namespace: ice.Namespace{"db"}, Name: "t"}
	if err := svc.DropTable(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	if n := len(f.metadataFiles(t)); n != 2 {
		t.Fatalf("soft drop left %d metadata files, want 2", n)
	}
	ds, err := svc.ListDeleted(ctx, id.Namespace)
	if err != nil || len(ds) != 1 || ds[0].Name != "t" || ds[0].Location != "file://"+dir+"/db/t" {
		t.Fatalf("deleted = %+v, %v", ds, err)
	}
	// Registering the dropped table's own metadata would put a second
	// table on files its purge will delete.
	if _, err := svc.RegisterTable(ctx, ice.TableIdent{Namespace: id.Namespace, Name: "again"}, ds[0].MetadataLocation, false); ice.ErrorCode(err) != ice.EEXISTS {
		t.Fatalf("register onto a reserved location: %v", err)
	}
	if n, err := svc.PurgeExpired(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("purge within retention: %d, %v", n, err)
	}
	if n, err := svc.PurgeExpired(ctx, time.Now().Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("purge after retention: %d, %v", n, err)
	}
	if n := len(f.metadataFiles(t)); n != 0 {
		t.Fatalf("purge left %d metadata files", n)
	}
	if ds, _ := svc.ListDeleted(ctx, id.Namespace); len(ds) != 0 {
		t.Fatalf("record kept after purge: %+v", ds)
	}
	if _, _, err := svc.Undrop(ctx, id.Namespace, ds0(ds), ""); err == nil {
		t.Fatal("undrop of a purged entry succeeded")
	}
	// The purge released the location (record and index claim): a new t
	// gets the default location again, not one beside it.
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})
	again, err := svc.CreateTable(ctx, id.Namespace, service.CreateTable{Name: "t", Schema: sc})
	if err != nil {
		t.Fatal(err)
	}
	if got := again.Metadata.TableLocation; got != "file://"+dir+"/db/t" {
		t.Fatalf("new table after the purge at %s", got)
	}
}

func ds0(ds []ice.DeletedEntry) string {
	if len(ds) == 0 {
		return "gone"
	}
	return ds[0].ID
}

// A namespace property turns soft drop off below a catalog that has it
// on; a bad value is refused with the property's name.
func TestSoftDropNamespaceProperty(t *testing.T) {
	svc, store, _ := softFixture(t, time.Hour)
	ctx := context.Background()
	ns := ice.Namespace{"db"}
	entry, _ := store.LoadNamespace(ctx, ns)
	if err := store.ReplaceNamespaceProperties(ctx, ns, map[string]string{ice.PropSoftDrop: "maybe"}, entry.Revision); err != nil {
		t.Fatal(err)
	}
	err := svc.DropTable(ctx, ice.TableIdent{Namespace: ns, Name: "t"}, false)
	if ice.ErrorCode(err) != ice.EINVALID {
		t.Fatalf("drop with a bad property: %v", err)
	}
	entry, _ = store.LoadNamespace(ctx, ns)
	if err := store.ReplaceNamespaceProperties(ctx, ns, map[string]string{ice.PropSoftDrop: "false"}, entry.Revision); err != nil {
		t.Fatal(err)
	}
	if err := svc.DropTable(ctx, ice.TableIdent{Namespace: ns, Name: "t"}, false); err != nil {
		t.Fatal(err)
	}
	if ds, _ := svc.ListDeleted(ctx, ns); len(ds) != 0 {
		t.Fatalf("a hard drop left a record: %+v", ds)
	}
}

// A soft-dropped view comes back under its name with the same metadata,
// and a table cannot be undropped onto a view's name.
func TestUndropView(t *testing.T) {
	svc, _, _ := softFixture(t, time.Hour)
	ctx := context.Background()
	ns := ice.Namespace{"db"}
	created, err := svc.CreateView(ctx, ns, service.CreateView{Name: "v", Schema: viewSchema, Version: newViewVersion(t, "select 1")})
	if err != nil {
		t.Fatal(err)
	}
	vid := ice.TableIdent{Namespace: ns, Name: "v"}
	if err := svc.DropView(ctx, vid); err != nil {
		t.Fatal(err)
	}
	if err := svc.DropTable(ctx, ice.TableIdent{Namespace: ns, Name: "t"}, false); err != nil {
		t.Fatal(err)
	}
	ds, err := svc.ListDeleted(ctx, ns)
	if err != nil || len(ds) != 2 {
		t.Fatalf("deleted = %+v, %v", ds, err)
	}
	var viewID, tableID string
	for _, d := range ds {
		if d.Kind == ice.KindView {
			viewID = d.ID
		} else {
			tableID = d.ID
		}
	}
	if _, _, err := svc.Undrop(ctx, ns, viewID, ""); err != nil {
		t.Fatal(err)
	}
	back, err := svc.LoadView(ctx, vid)
	if err != nil || back.Location != created.Location {
		t.Fatalf("undropped view at %v (%v), want %s", back, err, created.Location)
	}
	if _, _, err := svc.Undrop(ctx, ns, tableID, "v"); ice.ErrorCode(err) != ice.EEXISTS {
		t.Fatalf("undrop of a table onto a view's name: %v", err)
	}
	if _, _, err := svc.Undrop(ctx, ns, "../x", ""); ice.ErrorCode(err) != ice.EINVALID {
		t.Fatalf("undrop of a malformed id: %v", err)
	}
}
