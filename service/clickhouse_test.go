package service_test

import (
	"context"
	"testing"

	"github.com/apache/iceberg-go"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/service"
)

// TestSchemelessLocationsAreRefused: a location without a scheme never
// places a table or a namespace's tables: the service refuses it with
// EINVALID and stores nothing. (ClickHouse's bare "/ns/t/" is dropped by the
// REST layer before it gets here, rest.bareClickHouseLocation, so its table
// goes to the default location; docs/clients.md.) An empty location is the
// default one, and a URL inside the namespace's area is honoured.
func TestSchemelessLocationsAreRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})
	ns := ice.Namespace{"ch"}
	err := f.svc.CreateNamespace(ctx, ns, map[string]string{"location": "/warehouse/ch/t1/", "owner": "x"})
	if ice.ErrorCode(err) != ice.EINVALID {
		t.Fatalf("namespace with a bare location: %v, want EINVALID", err)
	}
	if err := f.svc.CreateNamespace(ctx, ns, map[string]string{"owner": "x"}); err != nil {
		t.Fatal(err)
	}
	for _, loc := range []string{"/warehouse/ch/t1/", "ch/t1", "c:/x"} {
		_, err := f.svc.CreateTable(ctx, ns, service.CreateTable{Name: "t", Schema: sc, Location: loc})
		if ice.ErrorCode(err) != ice.EINVALID {
			t.Errorf("create with location %q: %v, want EINVALID", loc, err)
		}
		if ok, _ := f.svc.TableExists(ctx, ice.TableIdent{Namespace: ns, Name: "t"}); ok {
			t.Fatalf("a refused create with location %q left a table", loc)
		}
	}
	tbl, err := f.svc.CreateTable(ctx, ns, service.CreateTable{Name: "t", Schema: sc})
	if err != nil {
		t.Fatal(err)
	}
	if want := "file://" + f.dir + "/ch/t"; tbl.Metadata.TableLocation != want {
		t.Errorf("no location placed the table at %s, want %s", tbl.Metadata.TableLocation, want)
	}
	tbl, err = f.svc.CreateTable(ctx, ns, service.CreateTable{Name: "url", Schema: sc, Location: "file://" + f.dir + "/ch/elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	if tbl.Metadata.TableLocation != "file://"+f.dir+"/ch/elsewhere" {
		t.Errorf("URL location became %s", tbl.Metadata.TableLocation)
	}
}
