package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// TestClickHouseDropUndrop: with soft drop on for the namespace, a table
// dropped by ClickHouse's DROP TABLE (a DELETE with purgeRequested=False)
// leaves the catalog, is listed as deleted, and after an undrop through the
// management API ClickHouse and iceberg-go read back the same rows from the
// same metadata file (docs/events.md, "Undrop").
func TestClickHouseDropUndrop(t *testing.T) {
	ch := testenv.NewestClickHouse(t)
	e := startClickHouseCatalog(t, "1h")
	ctx := context.Background()
	ident := table.Identifier{"soft", "t"}
	if err := e.writer.CreateNamespace(ctx, table.Identifier{"soft"}, map[string]string{"ice.soft-drop.enabled": "true"}); err != nil {
		t.Fatal(err)
	}
	tbl, err := e.writer.CreateTable(ctx, ident, eventSchema)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.AppendTable(ctx, eventBatch(t, 0, 10), 100, nil); err != nil {
		t.Fatal(err)
	}

	const read = "SELECT id, region FROM ice.`soft.t` ORDER BY id"
	const count = "SELECT count() AS n, sum(id) AS s FROM ice.`soft.t`"
	s := ch.NewSession(t)
	got := s.MustRun(t,
		"SET allow_experimental_database_iceberg = 1",
		e.database(chWriterToken),
		// A snapshot written by ClickHouse too, so the undropped table
		// carries its manifests.
		"INSERT INTO ice.`soft.t` SETTINGS allow_insert_into_iceberg = 1 VALUES (100, 'eu'), (101, 'us')",
		read, count,
		"DROP TABLE ice.`soft.t`",
		"SHOW TABLES FROM ice",
	)
	rowsBefore, countBefore := fmt.Sprint(got[3]), fmt.Sprint(got[4])
	if len(got[3]) != 12 || str(got[4][0]["n"]) != "12" {
		t.Fatalf("before the drop ClickHouse reads %d rows, count %v; want 12", len(got[3]), got[4])
	}
	for _, r := range got[6] {
		if str(r["name"]) == "soft.t" {
			t.Fatalf("SHOW TABLES lists soft.t after DROP TABLE: %v", got[6])
		}
	}
	if n := e.api.count("DELETE /v1/namespaces/soft/tables/t?purgeRequested=False 200 "); n != 1 {
		t.Errorf("ClickHouse's DELETEs without purge answered 200: %d, want 1", n)
	}
	if ok, _ := e.writer.CheckTableExists(ctx, ident); ok {
		t.Fatal("soft.t still exists after DROP TABLE")
	}

	st, body := callAPI(t, "GET", e.cat.URL+"/management/v1/namespaces/soft/deleted", chWriterToken, nil)
	deleted, _ := body["deleted"].([]any)
	if st != 200 || len(deleted) != 1 {
		t.Fatalf("list deleted: %d %v", st, body)
	}
	entry := deleted[0].(map[string]any)
	if entry["name"] != "t" || entry["metadata-location"] == "" {
		t.Fatalf("deleted entry %v", entry)
	}
	st, body = callAPI(t, "POST", e.cat.URL+"/management/v1/namespaces/soft/deleted/"+str(entry["id"])+"/undrop", chWriterToken, nil)
	if st != 200 {
		t.Fatalf("undrop: %d %v", st, body)
	}

	after := s.MustRun(t, "SET allow_experimental_database_iceberg = 1", read, count)
	if a, c := fmt.Sprint(after[1]), fmt.Sprint(after[2]); a != rowsBefore || c != countBefore {
		t.Errorf("after the undrop ClickHouse reads\n%s\ncount %s\nbefore the drop\n%s\ncount %s", a, c, rowsBefore, countBefore)
	}
	restored := mustTable(t, e.writer, ident)
	if restored.MetadataLocation() != str(entry["metadata-location"]) {
		t.Errorf("undropped at %s, dropped at %s", restored.MetadataLocation(), entry["metadata-location"])
	}
	ids := readIDs(t, restored, nil)
	if s := fmt.Sprint(ids); len(ids) != 12 || !strings.Contains(s, "100 101") {
		t.Errorf("iceberg-go reads the undropped table as %v, want 0..9, 100, 101", ids)
	}
}
