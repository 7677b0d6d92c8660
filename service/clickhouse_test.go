package service_test

import (
	"context"
	"testing"

	"github.com/apache/iceberg-go"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/service"
)

// TestSchemelessLocationsGoToTheDefault: ClickHouse's bare-path locations
// ("/warehouse/ns/t/") never place a table: the table goes to its default
// location inside the warehouse, and a namespace's bare "location" is not
// kept (docs/clients.md, CREATE TABLE).
func TestSchemelessLocationsGoToTheDefault(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})
	ns := ice.Namespace{"ch"}
	if err := f.svc.CreateNamespace(ctx, ns, map[string]string{"location": "/warehouse/ch/t1/", "owner": "x"}); err != nil {
		t.Fatal(err)
	}
	props, err := f.svc.LoadNamespace(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := props["location"]; ok || props["owner"] != "x" {
		t.Fatalf("namespace properties = %v, want owner kept and the bare location dropped", props)
	}
	for _, loc := range []string{"/warehouse/ch/t1/", "ch/t1", "", "c:/x"} {
		name := "t" + string(rune('a'+len(loc)%26))
		tbl, err := f.svc.CreateTable(ctx, ns, service.CreateTable{Name: name, Schema: sc, Location: loc})
		if err != nil {
			t.Fatalf("create with location %q: %v", loc, err)
		}
		if want := "file://" + f.dir + "/ch/" + name; tbl.Metadata.TableLocation != want {
			t.Errorf("location %q placed the table at %s, want %s", loc, tbl.Metadata.TableLocation, want)
		}
	}
	// A URL is still honoured.
	tbl, err := f.svc.CreateTable(ctx, ns, service.CreateTable{Name: "url", Schema: sc, Location: "file://" + f.dir + "/ch/elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	if tbl.Metadata.TableLocation != "file://"+f.dir+"/ch/elsewhere" {
		t.Errorf("URL location became %s", tbl.Metadata.TableLocation)
	}
}
