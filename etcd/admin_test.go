package etcd_test

import (
	"context"
	"strconv"
	"testing"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/etcd"
)

// TestImportMovesKeysToTheImportingCatalog exports from the default catalog
// and imports into one named prod on the same etcd: the keys move under
// prod/, and paging and the namespace filter see every entry exactly once.
func TestImportMovesKeysToTheImportingCatalog(t *testing.T) {
	ctx := context.Background()
	cli := newClient(t)
	src, dst := etcd.NewStore(cli, "default"), etcd.NewStore(cli, "prod")
	for _, ns := range []ice.Namespace{{"a"}, {"a", "b"}, {"ab"}} {
		if err := src.CreateNamespace(ctx, ns, map[string]string{"k": ns.String()}); err != nil {
			t.Fatal(err)
		}
	}
	var swaps []ice.TableSwap
	for i := 0; i < 1500; i++ { // more than one listing page
		swaps = append(swaps, ice.TableSwap{ID: ice.TableIdent{Namespace: ice.Namespace{"a", "b"}, Name: "t" + strconv.Itoa(i)}, NewLocation: "s3://w/m.json"})
		if len(swaps) == 20 {
			if err := src.SwapTables(ctx, swaps, nil); err != nil {
				t.Fatal(err)
			}
			swaps = nil
		}
	}
	if err := src.SwapTables(ctx, []ice.TableSwap{{ID: ice.TableIdent{Namespace: ice.Namespace{"ab"}, Name: "x"}, NewLocation: "s3://w/x.json"}}, nil); err != nil {
		t.Fatal(err)
	}

	all, err := src.ExportCatalog(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Namespaces) != 3 || len(all.Tables) != 1501 {
		t.Fatalf("export: %d namespaces, %d tables", len(all.Namespaces), len(all.Tables))
	}
	onlyA, err := src.ExportCatalog(ctx, ice.Namespace{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(onlyA.Namespaces) != 2 || len(onlyA.Tables) != 1500 {
		t.Fatalf("namespace a (not ab): %d namespaces, %d tables", len(onlyA.Namespaces), len(onlyA.Tables))
	}

	res, err := dst.ImportCatalog(ctx, all, false, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 1504 {
		t.Fatalf("import: %+v", res)
	}
	if v, ok := get(t, cli, "prod/n/a/b"); !ok || v["k"] != "a.b" {
		t.Fatalf("prod/n/a/b = %v %v", v, ok)
	}
	if p, err := dst.LoadTable(ctx, ice.TableIdent{Namespace: ice.Namespace{"ab"}, Name: "x"}); err != nil || p.MetadataLocation != "s3://w/x.json" {
		t.Fatalf("prod table: %+v %v", p, err)
	}
	// Exported again from prod, the keys carry prod's prefix, and importing
	// that file back into default finds everything there.
	back, err := dst.ExportCatalog(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if back.CatalogName != "prod" || back.Namespaces[0].Key[:7] != "prod/n/" {
		t.Fatalf("prod export: %s %s", back.CatalogName, back.Namespaces[0].Key)
	}
	if res, err := src.ImportCatalog(ctx, back, true, false); err != nil || res.Skipped != 1504 {
		t.Fatalf("import back: %+v %v", res, err)
	}
}
