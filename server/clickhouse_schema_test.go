package server_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// noteSchema is eventSchema with an optional column that the tests drop.
var noteSchema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
	iceberg.NestedField{ID: 2, Name: "region", Type: iceberg.PrimitiveTypes.String, Required: true},
	iceberg.NestedField{ID: 3, Name: "note", Type: iceberg.PrimitiveTypes.String},
)

// noteBatch builds rows id=from..from+n-1 of noteSchema (or of eventSchema
// with a re-added note), note "n<id>" (or text, when given).
func noteBatch(t testing.TB, from, n int64, text string) arrow.Table {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "region", Type: arrow.BinaryTypes.String},
		{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(i)
		b.Field(1).(*array.StringBuilder).Append([]string{"eu", "us"}[i%2])
		note := text
		if note == "" {
			note = fmt.Sprintf("n%d", i)
		}
		b.Field(2).(*array.StringBuilder).Append(note)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
}

// chDescribe returns ClickHouse's DESCRIBE rows as "name type".
func chDescribe(rows []map[string]any) string {
	var cols []string
	for _, r := range rows {
		cols = append(cols, str(r["name"])+" "+str(r["type"]))
	}
	return strings.Join(cols, ",")
}

// rowsText renders ClickHouse's SELECT * rows as "k=v k=v;…" in key order,
// so a dropped column still present in a row shows.
func rowsText(rows []map[string]any) string {
	var out []string
	for _, r := range rows {
		keys := make([]string, 0, len(r))
		for k := range r {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var kv []string
		for _, k := range keys {
			kv = append(kv, fmt.Sprintf("%s=%v", k, r[k]))
		}
		out = append(out, strings.Join(kv, " "))
	}
	return strings.Join(out, ";")
}

// TestClickHouseDroppedColumn (issue 13, schema evolution): a column
// dropped by iceberg-go's schema update, and one dropped by ClickHouse's
// ALTER TABLE DROP COLUMN, is gone from ClickHouse's DESCRIBE and SELECT *,
// the remaining columns read correctly for rows written before and after
// the drop, and a query naming the dropped column fails. iceberg-go sees
// ClickHouse's drop. A column re-added under the dropped name gets a new
// field id, so ClickHouse reads null, not the dropped values, for old rows.
func TestClickHouseDroppedColumn(t *testing.T) {
	ch := testenv.NewestClickHouse(t)
	e := startClickHouseCatalog(t, "1h")
	ctx := context.Background()
	if err := e.writer.CreateNamespace(ctx, table.Identifier{"evo"}, nil); err != nil {
		t.Fatal(err)
	}
	// Dropped by iceberg-go: rows 0..3 with notes, the drop, rows 4..5.
	byGo, err := e.writer.CreateTable(ctx, table.Identifier{"evo", "bygo"}, noteSchema)
	if err != nil {
		t.Fatal(err)
	}
	if byGo, err = byGo.AppendTable(ctx, noteBatch(t, 0, 4, ""), 100, nil); err != nil {
		t.Fatal(err)
	}
	tx := byGo.NewTransaction()
	if err := tx.UpdateSchema(true, false).DeleteColumn([]string{"note"}).Commit(); err != nil {
		t.Fatal(err)
	}
	if byGo, err = tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if byGo, err = byGo.AppendTable(ctx, eventBatch(t, 4, 2), 100, nil); err != nil {
		t.Fatal(err)
	}
	// Dropped by ClickHouse: rows 0..1 from iceberg-go, row 2 from
	// ClickHouse, both with notes; the drop; row 3 from ClickHouse.
	byCH, err := e.writer.CreateTable(ctx, table.Identifier{"evo", "bych"}, noteSchema)
	if err != nil {
		t.Fatal(err)
	}
	if _, err = byCH.AppendTable(ctx, noteBatch(t, 0, 2, ""), 100, nil); err != nil {
		t.Fatal(err)
	}

	s := ch.NewSession(t)
	got := s.MustRun(t,
		"SET allow_experimental_database_iceberg = 1",
		e.database(chWriterToken),
		"INSERT INTO ice.`evo.bych` SETTINGS allow_insert_into_iceberg = 1 VALUES (2, 'eu', 'n2')",
		"ALTER TABLE ice.`evo.bych` DROP COLUMN note SETTINGS allow_insert_into_iceberg = 1",
		"INSERT INTO ice.`evo.bych` SETTINGS allow_insert_into_iceberg = 1 VALUES (3, 'us')",
		"DESCRIBE ice.`evo.bygo`",
		"SELECT * FROM ice.`evo.bygo` ORDER BY id",
		"DESCRIBE ice.`evo.bych`",
		"SELECT * FROM ice.`evo.bych` ORDER BY id",
		"SELECT count() AS n, sum(id) AS s FROM ice.`evo.bygo` WHERE region = 'us'",
	)
	const cols = "id Int64,region String"
	want := func(ids ...int) string {
		var rows []string
		for _, id := range ids {
			rows = append(rows, fmt.Sprintf("id=%d region=%s", id, []string{"eu", "us"}[id%2]))
		}
		return strings.Join(rows, ";")
	}
	if d := chDescribe(got[5]); d != cols {
		t.Errorf("DESCRIBE after iceberg-go's drop = %s, want %s", d, cols)
	}
	if r := rowsText(got[6]); r != want(0, 1, 2, 3, 4, 5) {
		t.Errorf("SELECT * after iceberg-go's drop = %s, want %s", r, want(0, 1, 2, 3, 4, 5))
	}
	if d := chDescribe(got[7]); d != cols {
		t.Errorf("DESCRIBE after ClickHouse's drop = %s, want %s", d, cols)
	}
	if r := rowsText(got[8]); r != want(0, 1, 2, 3) {
		t.Errorf("SELECT * after ClickHouse's drop = %s, want %s", r, want(0, 1, 2, 3))
	}
	if r := got[9][0]; str(r["n"]) != "3" || str(r["s"]) != "9" {
		t.Errorf("filtered read after the drop = %v, want 3 rows summing to 9", r)
	}
	_, res := s.Run(t,
		testenv.Step{SQL: "SELECT note FROM ice.`evo.bygo`"},
		testenv.Step{SQL: "SELECT note FROM ice.`evo.bych`"},
	)
	for i, r := range res {
		if r.OK || !strings.Contains(r.Error, "UNKNOWN_IDENTIFIER") {
			t.Errorf("SELECT of the dropped column (%d): %+v, want UNKNOWN_IDENTIFIER", i, r)
		}
	}

	// iceberg-go sees ClickHouse's drop and reads every row.
	after := mustTable(t, e.writer, table.Identifier{"evo", "bych"})
	if _, ok := after.Schema().FindFieldByName("note"); ok || len(after.Schema().Fields()) != 2 {
		t.Errorf("iceberg-go's schema after ClickHouse's drop: %v", after.Schema())
	}
	if ids := readIDs(t, after, nil); !slices.Equal(ids, []int64{0, 1, 2, 3}) {
		t.Errorf("iceberg-go rows after ClickHouse's drop: %v", ids)
	}

	// note re-added by iceberg-go: a new field id, so the old rows' notes
	// (field 3) stay dropped.
	tx = mustTable(t, e.writer, table.Identifier{"evo", "bygo"}).NewTransaction()
	if err := tx.UpdateSchema(true, false).AddColumn([]string{"note"}, iceberg.PrimitiveTypes.String, "", false, nil).Commit(); err != nil {
		t.Fatal(err)
	}
	if byGo, err = tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if f, _ := byGo.Schema().FindFieldByName("note"); f.ID == 3 {
		t.Fatalf("re-added note kept the dropped field id 3")
	}
	if _, err = byGo.AppendTable(ctx, noteBatch(t, 6, 1, "new"), 100, nil); err != nil {
		t.Fatal(err)
	}
	got = s.MustRun(t, "DESCRIBE ice.`evo.bygo`", "SELECT id, note FROM ice.`evo.bygo` ORDER BY id")
	if d := chDescribe(got[0]); d != cols+",note Nullable(String)" {
		t.Errorf("DESCRIBE after note was re-added = %s", d)
	}
	var notes []string
	for _, r := range got[1] {
		notes = append(notes, fmt.Sprintf("%v:%v", r["id"], r["note"]))
	}
	if n := strings.Join(notes, ","); n != "0:<nil>,1:<nil>,2:<nil>,3:<nil>,4:<nil>,5:<nil>,6:new" {
		t.Errorf("notes after note was re-added = %s, want null for rows 0..5 (their note was dropped) and new for 6", n)
	}
}
