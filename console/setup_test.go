package console_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/cli"
	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

const (
	adminToken   = "console-admin-token"
	readerToken  = "console-reader-token"
	oauthClient  = "console-client"
	oauthSecret  = "console-client-secret"
	writerToken  = "console-writer-token" // write on sales, nothing else
	consolePrefx = "/management/v1/"
)

// startConsoleCatalog starts a catalog with the console on, no anonymous
// access, an admin token, an OAuth client with admin access, and a
// read-only token that may read only the namespace sales. Every API answer
// is checked against the Iceberg spec, except the management endpoints,
// which are not part of it.
func startConsoleCatalog(t testing.TB, extra string) *testenv.Catalog {
	t.Helper()
	sum := sha256.Sum256([]byte(oauthSecret))
	consoleLine := "console: {enabled: true}"
	if strings.Contains(extra, "console:") {
		consoleLine = ""
	}
	text := fmt.Sprintf(`addr: 127.0.0.1:0
debugAddr: 127.0.0.1:0
dataDir: %s
warehouse: file://%s
%s
bearerTokens:
  - {name: admin, value: %s}
  - {name: reader, value: %s, accessConfig: {readOnly: true}}
  - {name: writer, value: %s}
oauth:
  clients:
    - {id: %s, secretHash: "sha256:%s"}
authorization:
  rules:
    - {principals: ["token:admin", "oauth:%s", "group:data-admins"], access: admin}
    - {principals: ["token:writer"], namespaces: [sales], access: write}
    - {principals: ["token:reader"], namespaces: [sales], access: read}
%s`, t.TempDir(), t.TempDir(), consoleLine, adminToken, readerToken, writerToken, oauthClient, hex.EncodeToString(sum[:]), oauthClient, extra)
	cfg, err := config.Parse([]byte(text), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return testenv.StartCatalogExcusing(t, cfg, func(v string) bool { return strings.Contains(v, consolePrefx) })
}

// api calls the catalog as token and decodes a JSON answer into out.
func api(t testing.TB, method, url, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, b, err)
		}
	}
	return resp.StatusCode
}

// loaded is the part of loadTable the tests compare with the console.
type loaded struct {
	Metadata struct {
		CurrentSnapshotID int64 `json:"current-snapshot-id"`
		CurrentSchemaID   int   `json:"current-schema-id"`
		Schemas           []struct {
			ID     int `json:"schema-id"`
			Fields []struct {
				ID   int    `json:"id"`
				Name string `json:"name"`
			} `json:"fields"`
		} `json:"schemas"`
		Snapshots []struct {
			ID       int64             `json:"snapshot-id"`
			ParentID int64             `json:"parent-snapshot-id"`
			Summary  map[string]string `json:"summary"`
		} `json:"snapshots"`
		Properties map[string]string `json:"properties"`
	} `json:"metadata"`
}

func loadTable(t testing.TB, url, token, ns, name string) (loaded, int) {
	t.Helper()
	var l loaded
	code := api(t, "GET", url+"/v1/namespaces/"+ns+"/tables/"+name, token, nil, &l)
	return l, code
}

var ordersSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "region", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
}, nil)

// writeOrders writes n rows to a Parquet file, regions cycling.
func writeOrders(t testing.TB, dir, name string, from, n int) string {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, ordersSchema)
	defer b.Release()
	regions := []string{"eu", "us", "apac"}
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(regions[i%len(regions)])
		b.Field(2).(*array.Float64Builder).Append(float64(i) * 1.5)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// iceCLI runs the ice command line tool against url as the admin.
func iceCLI(t testing.TB, url string, args ...string) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "ice.yaml")
	if err := os.WriteFile(cfg, []byte("uri: "+url+"\nbearerToken: "+adminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := cli.Main(ctx, append([]string{"-c", cfg}, args...), cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(string) string { return "" }})
	if code != 0 {
		t.Fatalf("ice %v: exit %d: %s %s", args, code, out.String(), errb.String())
	}
}

// seed fills the catalog: sales.orders by `ice insert` (three inserts,
// partitioned by region, so three snapshots and nine data files);
// sales.events by iceberg-go with a second schema version; and the view
// sales.top_orders with SQL in two dialects.
func seed(t testing.TB, url string) {
	t.Helper()
	dir := t.TempDir()
	iceCLI(t, url, "create-namespace", "sales")
	part := `[{"column":"region","transform":"identity"}]`
	iceCLI(t, url, "insert", "-p", "sales.orders", writeOrders(t, dir, "a.parquet", 0, 300), "--partition", part)
	iceCLI(t, url, "insert", "sales.orders", writeOrders(t, dir, "b.parquet", 300, 150))
	iceCLI(t, url, "insert", "sales.orders", writeOrders(t, dir, "c.parquet", 450, 60))

	ctx := context.Background()
	cat := testenv.Client(t, url, rest.WithOAuthToken(adminToken))
	schema := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "event_id", Type: iceberg.PrimitiveTypes.Int64, Required: true, Doc: "unique id"},
		iceberg.NestedField{ID: 2, Name: "kind", Type: iceberg.PrimitiveTypes.String})
	tbl, err := cat.CreateTable(ctx, table.Identifier{"sales", "events"}, schema)
	if err != nil {
		t.Fatalf("create sales.events: %v", err)
	}
	txn := tbl.NewTransaction()
	if err := txn.UpdateSchema(true, false).AddColumn([]string{"payload"}, iceberg.PrimitiveTypes.String, "raw JSON", false, nil).Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		t.Fatalf("evolve sales.events: %v", err)
	}

	view := map[string]any{
		"name": "top_orders",
		"schema": map[string]any{"type": "struct", "schema-id": 0, "fields": []any{
			map[string]any{"id": 1, "name": "id", "type": "long", "required": false}}},
		"view-version": map[string]any{"version-id": 1, "schema-id": 0, "timestamp-ms": time.Now().UnixMilli(),
			"summary": map[string]string{"engine-name": "test"}, "default-namespace": []string{"sales"},
			"representations": []any{
				map[string]any{"type": "sql", "sql": "SELECT id FROM sales.orders ORDER BY amount DESC LIMIT 10", "dialect": "spark"},
				map[string]any{"type": "sql", "sql": "SELECT id FROM sales.orders ORDER BY amount DESC FETCH FIRST 10 ROWS ONLY", "dialect": "trino"}}},
		"properties": map[string]string{},
	}
	if code := api(t, "POST", url+"/v1/namespaces/sales/views", adminToken, view, nil); code != http.StatusOK {
		t.Fatalf("create view: %d", code)
	}
	iceCLI(t, url, "create-namespace", "secret")
}
