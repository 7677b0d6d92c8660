package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/server"
)

const adminToken, readerToken = "admin-secret", "reader-secret"

// startAdminCatalog starts a server with an admin token, a read-only token
// and read-write anonymous access. The admin API is outside the Iceberg
// spec, so this server is not wrapped by the spec validator.
func startAdminCatalog(t *testing.T, warehouse string, extraYAML ...string) string {
	t.Helper()
	text := "addr: 127.0.0.1:0\ndebugAddr: 127.0.0.1:0\ndataDir: " + t.TempDir() + "\n" +
		"anonymousAccess: {enabled: true, accessConfig: {readOnly: false}}\n" +
		"bearerTokens:\n- {name: admin, value: " + adminToken + "}\n- {name: reader, value: " + readerToken + ", accessConfig: {readOnly: true}}\n"
	if warehouse != "" {
		text += "warehouse: " + warehouse + "\n"
	}
	text += strings.Join(extraYAML, "")
	cfg, err := config.Parse([]byte(text), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(context.Background(), cfg, testenv.DiscardLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	testenv.WaitReady(t, "http://"+srv.DebugAddr()+"/readyz")
	return "http://" + srv.Addr()
}

func adminCall(t *testing.T, method, url, token string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func importInto(t *testing.T, url, query string, snap []byte) ice.ImportResult {
	t.Helper()
	code, body := adminCall(t, "POST", url+"/admin/v1/catalog-import"+query, adminToken, snap)
	if code != http.StatusOK {
		t.Fatalf("import%s: %d %s", query, code, body)
	}
	var res ice.ImportResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestCatalogExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := startAdminCatalog(t, "")
	cat := testenv.Client(t, src, rest.WithOAuthToken(adminToken))
	tables := []table.Identifier{{"sales", "eu", "events"}, {"sales", "orders"}, {"logs", "http"}}
	for _, ns := range []table.Identifier{{"sales"}, {"sales", "eu"}, {"logs"}} {
		if err := cat.CreateNamespace(ctx, ns, iceberg.Properties{"owner": strings.Join(ns, ".")}); err != nil {
			t.Fatal(err)
		}
	}
	locations := map[string]string{}
	for _, id := range tables {
		tbl, err := cat.CreateTable(ctx, id, eventSchema)
		if err != nil {
			t.Fatal(err)
		}
		if tbl, err = tbl.AppendTable(ctx, eventBatch(t, 0, 10), 100, nil); err != nil {
			t.Fatal(err)
		}
		locations[strings.Join(id, ".")] = tbl.MetadataLocation()
	}

	for _, who := range []string{"", readerToken} {
		if code, body := adminCall(t, "GET", src+"/admin/v1/catalog-export", who, nil); code != http.StatusForbidden {
			t.Fatalf("export as %q: %d %s, want 403", who, code, body)
		}
	}
	code, exported := adminCall(t, "GET", src+"/admin/v1/catalog-export", adminToken, nil)
	if code != http.StatusOK {
		t.Fatalf("export: %d %s", code, exported)
	}
	// The Java server's shape: snake_case header fields, key/value entries
	// keyed by etcd key.
	var raw map[string]any
	if err := json.Unmarshal(exported, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "catalog_name", "exported_at", "namespaces", "tables"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("export lacks %q: %s", k, exported)
		}
	}
	var snap ice.CatalogSnapshot
	if err := json.Unmarshal(exported, &snap); err != nil {
		t.Fatal(err)
	}
	if snap.Version != 1 || snap.CatalogName != "default" || len(snap.Namespaces) != 3 || len(snap.Tables) != 3 {
		t.Fatalf("export: %s", exported)
	}
	found := false
	for _, e := range snap.Tables {
		if e.Key == "t/sales/eu/events" && e.Value["metadata_location"] == locations["sales.eu.events"] && e.Value["table_type"] == "ICEBERG" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no t/sales/eu/events entry with its metadata location: %s", exported)
	}
	_, filtered := adminCall(t, "GET", src+"/admin/v1/catalog-export?namespace=sales", adminToken, nil)
	var part ice.CatalogSnapshot
	if err := json.Unmarshal(filtered, &part); err != nil || len(part.Namespaces) != 2 || len(part.Tables) != 2 {
		t.Fatalf("namespace=sales export: %s (%v)", filtered, err)
	}

	// A fresh catalog, with its own etcd and warehouse: dry run, then
	// import. The tables stay where they are, so the new catalog allows the
	// old warehouse (allowedLocations), as a migration would.
	oldWarehouse := locations["sales.eu.events"][:strings.Index(locations["sales.eu.events"], "/warehouse/")+len("/warehouse/")]
	dst := startAdminCatalog(t, "", "allowedLocations: ["+oldWarehouse+"]\n")
	dstCat := testenv.Client(t, dst, rest.WithOAuthToken(adminToken))
	if res := importInto(t, dst, "?dry-run=true", exported); res.Created != 6 || res.Skipped != 0 {
		t.Fatalf("dry run: %+v", res)
	}
	if nss, err := dstCat.ListNamespaces(ctx, nil); err != nil || len(nss) != 0 {
		t.Fatalf("dry run wrote namespaces: %v %v", nss, err)
	}
	if res := importInto(t, dst, "", exported); res.Created != 6 || res.CatalogName != "default" || res.ExportedAt != snap.ExportedAt {
		t.Fatalf("import: %+v", res)
	}
	props, err := dstCat.LoadNamespaceProperties(ctx, table.Identifier{"sales", "eu"})
	if err != nil || props["owner"] != "sales.eu" {
		t.Fatalf("namespace properties: %v %v", props, err)
	}
	for _, id := range tables {
		tbl, err := dstCat.LoadTable(ctx, id)
		if err != nil {
			t.Fatalf("imported %v: %v", id, err)
		}
		if tbl.MetadataLocation() != locations[strings.Join(id, ".")] {
			t.Fatalf("%v: location %s, want %s", id, tbl.MetadataLocation(), locations[strings.Join(id, ".")])
		}
		if ids := readIDs(t, tbl, nil); len(ids) != 10 {
			t.Fatalf("%v: rows %v", id, ids)
		}
	}

	// The destination moves on; importing again skips, unless overwrite.
	moved, err := dstCat.LoadTable(ctx, tables[0])
	if err != nil {
		t.Fatal(err)
	}
	if moved, err = moved.AppendTable(ctx, eventBatch(t, 10, 10), 100, nil); err != nil {
		t.Fatal(err)
	}
	current := func() string {
		tbl, err := dstCat.LoadTable(ctx, tables[0])
		if err != nil {
			t.Fatal(err)
		}
		return tbl.MetadataLocation()
	}
	if res := importInto(t, dst, "?overwrite=false", exported); res.Skipped != 6 || res.Created != 0 || current() != moved.MetadataLocation() {
		t.Fatalf("import without overwrite: %+v, location %s", res, current())
	}
	if res := importInto(t, dst, "?overwrite=true&dry-run=true", exported); res.Overwritten != 6 || current() != moved.MetadataLocation() {
		t.Fatalf("dry-run overwrite: %+v, location %s", res, current())
	}
	if res := importInto(t, dst, "?overwrite=true", exported); res.Overwritten != 6 || current() != locations["sales.eu.events"] {
		t.Fatalf("overwrite: %+v, location %s", res, current())
	}

	bad := bytes.Replace(exported, []byte(`"t/sales/orders"`), []byte(`"x/sales/orders"`), 1)
	if code, body := adminCall(t, "POST", dst+"/admin/v1/catalog-import", adminToken, bad); code != http.StatusBadRequest {
		t.Fatalf("import of a bad key: %d %s, want 400", code, body)
	}
}
