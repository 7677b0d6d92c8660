// Package demo loads a small generated data set into a catalog through
// iceberg-go's REST client: three partitioned tables with several snapshots
// each and a view, so a newcomer has something to list, scan and query.
// Loading is idempotent: what exists is left as it is.
package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3:// warehouses
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/view"
)

// Namespace holds every demo table and the view.
const Namespace = "demo"

// Table describes one demo table: its rows come in Appends commits.
type Table struct {
	Name    string
	Appends []int // rows per append, one snapshot each
	schema  *iceberg.Schema
	spec    iceberg.PartitionSpec
	batch   func(append, rows int) arrow.Table
}

// Rows is the table's row count once loaded.
func (t Table) Rows() int64 {
	var n int64
	for _, a := range t.Appends {
		n += int64(a)
	}
	return n
}

// View is the demo view over demo.orders.
const (
	View    = "revenue_by_region"
	ViewSQL = "SELECT region, sum(amount) AS revenue, count(*) AS orders FROM demo.orders GROUP BY region"
)

var day0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var tsType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// Tables is the data set: what Load creates.
func Tables() []Table {
	return []Table{
		{
			Name:    "orders",
			Appends: []int{200, 200, 200},
			schema: iceberg.NewSchema(0,
				iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
				iceberg.NestedField{ID: 2, Name: "region", Type: iceberg.PrimitiveTypes.String},
				iceberg.NestedField{ID: 3, Name: "ts", Type: iceberg.PrimitiveTypes.TimestampTz},
				iceberg.NestedField{ID: 4, Name: "amount", Type: iceberg.PrimitiveTypes.Float64}),
			spec: iceberg.NewPartitionSpec(
				iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "region", Transform: iceberg.IdentityTransform{}},
				iceberg.PartitionField{SourceIDs: []int{3}, FieldID: 1001, Name: "ts_day", Transform: iceberg.DayTransform{}}),
			batch: func(a, rows int) arrow.Table {
				sc := arrow.NewSchema([]arrow.Field{
					{Name: "id", Type: arrow.PrimitiveTypes.Int64},
					{Name: "region", Type: arrow.BinaryTypes.String, Nullable: true},
					{Name: "ts", Type: tsType, Nullable: true},
					{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
				}, nil)
				return build(sc, rows, func(b *array.RecordBuilder, i int) {
					id := a*1000 + i
					b.Field(0).(*array.Int64Builder).Append(int64(id))
					b.Field(1).(*array.StringBuilder).Append([]string{"eu", "us", "ap"}[i%3])
					ts := day0.AddDate(0, 0, a).Add(time.Duration(i*7) * time.Minute)
					b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
					b.Field(3).(*array.Float64Builder).Append(float64(id%97) + 0.5)
				})
			},
		},
		{
			Name:    "customers",
			Appends: []int{50, 30},
			schema: iceberg.NewSchema(0,
				iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
				iceberg.NestedField{ID: 2, Name: "name", Type: iceberg.PrimitiveTypes.String},
				iceberg.NestedField{ID: 3, Name: "country", Type: iceberg.PrimitiveTypes.String}),
			spec: iceberg.NewPartitionSpec(
				iceberg.PartitionField{SourceIDs: []int{3}, FieldID: 1000, Name: "country", Transform: iceberg.IdentityTransform{}}),
			batch: func(a, rows int) arrow.Table {
				sc := arrow.NewSchema([]arrow.Field{
					{Name: "id", Type: arrow.PrimitiveTypes.Int64},
					{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
					{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
				}, nil)
				return build(sc, rows, func(b *array.RecordBuilder, i int) {
					id := a*1000 + i
					b.Field(0).(*array.Int64Builder).Append(int64(id))
					b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("customer-%d", id))
					b.Field(2).(*array.StringBuilder).Append([]string{"DE", "FR", "US", "JP"}[i%4])
				})
			},
		},
		{
			Name:    "page_views",
			Appends: []int{120, 120, 60},
			schema: iceberg.NewSchema(0,
				iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
				iceberg.NestedField{ID: 2, Name: "url", Type: iceberg.PrimitiveTypes.String},
				iceberg.NestedField{ID: 3, Name: "ts", Type: iceberg.PrimitiveTypes.TimestampTz}),
			spec: iceberg.NewPartitionSpec(
				iceberg.PartitionField{SourceIDs: []int{3}, FieldID: 1000, Name: "ts_hour", Transform: iceberg.HourTransform{}}),
			batch: func(a, rows int) arrow.Table {
				sc := arrow.NewSchema([]arrow.Field{
					{Name: "id", Type: arrow.PrimitiveTypes.Int64},
					{Name: "url", Type: arrow.BinaryTypes.String, Nullable: true},
					{Name: "ts", Type: tsType, Nullable: true},
				}, nil)
				return build(sc, rows, func(b *array.RecordBuilder, i int) {
					b.Field(0).(*array.Int64Builder).Append(int64(a*1000 + i))
					b.Field(1).(*array.StringBuilder).Append([]string{"/", "/pricing", "/docs", "/blog"}[i%4])
					ts := day0.Add(time.Duration(a) * time.Hour).Add(time.Duration(i*20) * time.Second)
					b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
				})
			},
		},
	}
}

func build(sc *arrow.Schema, rows int, row func(b *array.RecordBuilder, i int)) arrow.Table {
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i := range rows {
		row(b, i)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
}

// Report says what Load did.
type Report struct {
	Created, Existing []string
}

// Load creates the demo namespace, tables and view that do not exist yet;
// it leaves the others alone, so running it again changes nothing.
func Load(ctx context.Context, cat *rest.Catalog) (Report, error) {
	var rep Report
	ns := table.Identifier{Namespace}
	if err := cat.CreateNamespace(ctx, ns, iceberg.Properties{"comment": "ice-rest-catalog demo data"}); err != nil &&
		!errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
		return rep, fmt.Errorf("create namespace %s: %w", Namespace, err)
	}
	for _, t := range Tables() {
		ident := table.Identifier{Namespace, t.Name}
		name := Namespace + "." + t.Name
		if _, err := cat.LoadTable(ctx, ident); err == nil {
			rep.Existing = append(rep.Existing, name)
			continue
		} else if !errors.Is(err, catalog.ErrNoSuchTable) {
			return rep, fmt.Errorf("load %s: %w", name, err)
		}
		tbl, err := cat.CreateTable(ctx, ident, t.schema, catalog.WithPartitionSpec(&t.spec),
			catalog.WithProperties(iceberg.Properties{"format-version": "2"}))
		if err != nil {
			return rep, fmt.Errorf("create %s: %w", name, err)
		}
		for a, rows := range t.Appends {
			data := t.batch(a, rows)
			tbl, err = tbl.AppendTable(ctx, data, int64(rows), nil)
			data.Release()
			if err != nil {
				return rep, fmt.Errorf("append %d to %s: %w", a+1, name, err)
			}
		}
		rep.Created = append(rep.Created, name)
	}
	vident := table.Identifier{Namespace, View}
	vname := Namespace + "." + View
	if ok, err := cat.CheckViewExists(ctx, vident); err != nil {
		return rep, fmt.Errorf("check view %s: %w", vname, err)
	} else if ok {
		rep.Existing = append(rep.Existing, vname)
		return rep, nil
	}
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "region", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 2, Name: "revenue", Type: iceberg.PrimitiveTypes.Float64},
		iceberg.NestedField{ID: 3, Name: "orders", Type: iceberg.PrimitiveTypes.Int64})
	v, err := view.NewVersionFromSQL(1, 0, ViewSQL, ns)
	if err != nil {
		return rep, err
	}
	if _, err := cat.CreateView(ctx, vident, v, sc); err != nil {
		return rep, fmt.Errorf("create view %s: %w", vname, err)
	}
	rep.Created = append(rep.Created, vname)
	return rep, nil
}
