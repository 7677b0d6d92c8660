package server_test

import (
	"context"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	_ "github.com/apache/iceberg-go/io/gocloud/s3"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

var eventSchema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
	iceberg.NestedField{ID: 2, Name: "region", Type: iceberg.PrimitiveTypes.String, Required: true},
)

// eventBatch builds rows id=from..from+n-1 alternating between two regions.
func eventBatch(t testing.TB, from, n int64) arrow.Table {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "region", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(i)
		b.Field(1).(*array.StringBuilder).Append([]string{"eu", "us"}[i%2])
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
}

func readIDs(t testing.TB, tbl *table.Table, filter iceberg.BooleanExpression) []int64 {
	t.Helper()
	opts := []table.ScanOption{}
	if filter != nil {
		opts = append(opts, table.WithRowFilter(filter))
	}
	got, err := tbl.Scan(opts...).ToArrowTable(context.Background())
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	defer got.Release()
	var ids []int64
	col := got.Column(0)
	for _, chunk := range col.Data().Chunks() {
		for _, v := range chunk.(*array.Int64).Int64Values() {
			ids = append(ids, v)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// runEndToEnd creates a namespace and a table partitioned by region,
// appends Parquet data twice with iceberg-go, and reads the rows back
// through a freshly loaded table.
func runEndToEnd(t *testing.T, cat *rest.Catalog) {
	ctx := context.Background()
	ns := table.Identifier{"sales", "eu-west"} // nested, with a hyphen
	if err := cat.CreateNamespace(ctx, ns[:1], nil); err != nil {
		t.Fatal(err)
	}
	if err := cat.CreateNamespace(ctx, ns, iceberg.Properties{"owner": "e2e"}); err != nil {
		t.Fatal(err)
	}
	spec := iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "region", Transform: iceberg.IdentityTransform{}})
	ident := append(table.Identifier{}, append(ns, "events")...)
	tbl, err := cat.CreateTable(ctx, ident, eventSchema, catalog.WithPartitionSpec(&spec))
	if err != nil {
		t.Fatalf("create table: %v", err)
	}
	for i := int64(0); i < 2; i++ {
		if tbl, err = tbl.AppendTable(ctx, eventBatch(t, i*10, 10), 100, nil); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	loaded, err := cat.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(loaded.Metadata().Snapshots()); n != 2 {
		t.Fatalf("snapshots = %d, want 2", n)
	}
	if spec := loaded.Spec(); spec.NumFields() != 1 {
		t.Fatalf("partition spec lost: %v", spec)
	}
	ids := readIDs(t, loaded, nil)
	if len(ids) != 20 || ids[0] != 0 || ids[19] != 19 {
		t.Fatalf("read back %v, want 0..19", ids)
	}
	eu := readIDs(t, loaded, iceberg.EqualTo(iceberg.Reference("region"), "eu"))
	if len(eu) != 10 {
		t.Fatalf("region=eu rows = %v, want the 10 even ids", eu)
	}
	for _, id := range eu {
		if id%2 != 0 {
			t.Fatalf("region=eu returned odd id %d", id)
		}
	}
}

func TestEndToEndFileWarehouse(t *testing.T) {
	c := testenv.StartCatalog(t, testenv.CatalogConfig(t))
	runEndToEnd(t, testenv.Client(t, c.URL))
}

func TestEndToEndS3Warehouse(t *testing.T) {
	s3 := testenv.StartS3(t)
	s3.CreateBucket(t, "warehouse")
	cfg := testenv.CatalogConfig(t)
	cfg.Warehouse = "s3://warehouse/prefix"
	cfg.S3 = config.S3{Endpoint: s3.Endpoint, PathStyleAccess: true, AccessKeyID: s3.AccessKey, SecretAccessKey: s3.SecretKey, Region: s3.Region}
	cfg.VendedCredentials.StaticKeys = true
	c := testenv.StartCatalog(t, cfg)
	// The client gets the keys the way ClickHouse does: vended with loadTable.
	cat := testenv.Client(t, c.URL, rest.WithHeaders(map[string]string{"X-Iceberg-Access-Delegation": "vended-credentials"}))
	runEndToEnd(t, cat)

	tbl, err := cat.LoadTable(context.Background(), table.Identifier{"sales", "eu-west", "events"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "s3://warehouse/prefix/sales/eu-west/events"; tbl.Location() != want {
		t.Fatalf("location = %s, want %s", tbl.Location(), want)
	}
}
