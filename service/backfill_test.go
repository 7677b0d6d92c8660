package service_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/apache/iceberg-go"
	clientv3 "go.etcd.io/etcd/client/v3"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/service"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// A table the Java server created has no claim in the location index, so
// the overlap rule cannot see it until BackfillLocations claims it.
func TestBackfillLocationsClaimsJavaEntries(t *testing.T) {
	ctx := context.Background()
	cli := testenv.EtcdClient(t)
	dir := t.TempDir()
	wh, err := warehouse.Open(ctx, warehouse.Config{Location: "file://" + dir})
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Config{Store: etcd.NewStore(cli, "default"), Warehouse: wh, Log: testenv.DiscardLogger()})
	ns := ice.Namespace{"db"}
	if err := svc.CreateNamespace(ctx, ns, nil); err != nil {
		t.Fatal(err)
	}
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})
	if _, err := svc.CreateTable(ctx, ns, service.CreateTable{Name: "java", Schema: sc}); err != nil {
		t.Fatal(err)
	}
	// Make it look as the Java server writes it: no claim, no attribute.
	resp, err := cli.Get(ctx, "t/db/java")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("entry: %v", err)
	}
	var attrs map[string]string
	if err := json.Unmarshal(resp.Kvs[0].Value, &attrs); err != nil {
		t.Fatal(err)
	}
	delete(attrs, "ice_location_key")
	raw, _ := json.Marshal(attrs)
	if _, err := cli.Put(ctx, "t/db/java", string(raw)); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Delete(ctx, "loc/", clientv3.WithPrefix()); err != nil {
		t.Fatal(err)
	}

	rep, err := svc.BackfillLocations(ctx)
	if err != nil || rep.Indexed != 1 || rep.Refused+rep.Failed != 0 {
		t.Fatalf("backfill: %+v, %v", rep, err)
	}
	_, err = svc.CreateTable(ctx, ns, service.CreateTable{Name: "inside", Schema: sc, Location: "file://" + dir + "/db/java/inside"})
	if ice.ErrorCode(err) != ice.EINVALID {
		t.Fatalf("a table inside the Java table after the backfill: %v", err)
	}
	// A second run finds nothing to do.
	if rep, err := svc.BackfillLocations(ctx); err != nil || rep != (service.BackfillReport{}) {
		t.Fatalf("second backfill: %+v, %v", rep, err)
	}
	// The claim goes with a drop.
	if err := svc.DropTable(ctx, ice.TableIdent{Namespace: ns, Name: "java"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateTable(ctx, ns, service.CreateTable{Name: "inside", Schema: sc, Location: "file://" + dir + "/db/java/inside"}); err != nil {
		t.Fatalf("after the drop: %v", err)
	}
}
