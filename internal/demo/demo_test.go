package demo_test

import (
	"context"
	"testing"

	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/internal/demo"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// TestLoadIsReadableAndIdempotent loads the demo data set into a real
// catalog, reads every table back with iceberg-go (row counts, one
// snapshot per append, partitioned), checks the view, then loads again and
// checks that nothing changed.
func TestLoadIsReadableAndIdempotent(t *testing.T) {
	ctx := context.Background()
	c := testenv.StartCatalog(t, testenv.CatalogConfig(t))
	cat := testenv.Client(t, c.URL)

	rep, err := demo.Load(ctx, cat)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Created) != len(demo.Tables())+1 || len(rep.Existing) != 0 {
		t.Fatalf("first load: %+v", rep)
	}
	locations := map[string]string{}
	for _, dt := range demo.Tables() {
		tbl, err := cat.LoadTable(ctx, table.Identifier{demo.Namespace, dt.Name})
		if err != nil {
			t.Fatal(err)
		}
		locations[dt.Name] = tbl.MetadataLocation()
		if n := len(tbl.Metadata().Snapshots()); n != len(dt.Appends) || n < 2 {
			t.Errorf("%s: %d snapshots, want %d", dt.Name, n, len(dt.Appends))
		}
		if spec := tbl.Spec(); spec.NumFields() == 0 {
			t.Errorf("%s is not partitioned", dt.Name)
		}
		at, err := tbl.Scan().ToArrowTable(ctx)
		if err != nil {
			t.Fatalf("scan %s: %v", dt.Name, err)
		}
		if at.NumRows() != dt.Rows() {
			t.Errorf("%s: %d rows, want %d", dt.Name, at.NumRows(), dt.Rows())
		}
		at.Release()
	}
	v, err := cat.LoadView(ctx, table.Identifier{demo.Namespace, demo.View})
	if err != nil {
		t.Fatalf("load view: %v", err)
	}
	if got := v.CurrentVersion().Representations[0].Sql; got != demo.ViewSQL {
		t.Errorf("view SQL %q", got)
	}

	rep, err = demo.Load(ctx, cat)
	if err != nil || len(rep.Created) != 0 || len(rep.Existing) != len(demo.Tables())+1 {
		t.Fatalf("second load: %+v %v", rep, err)
	}
	for _, dt := range demo.Tables() {
		tbl, err := cat.LoadTable(ctx, table.Identifier{demo.Namespace, dt.Name})
		if err != nil || tbl.MetadataLocation() != locations[dt.Name] {
			t.Errorf("%s changed on the second load: %v", dt.Name, err)
		}
	}
}
