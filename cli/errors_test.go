package cli_test

import (
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// TestErrorMessagesNameTheCauseAndTheFix: each message a newcomer met
// names the file once, gives the real cause and suggests the fix.
func TestErrorMessagesNameTheCauseAndTheFix(t *testing.T) {
	c := testenv.StartCatalog(t, testenv.CatalogConfig(t))
	e := &iceEnv{URL: c.URL, Config: writeConfig(t, "uri: "+c.URL+"\n")}
	dir := t.TempDir()

	// A text file named .parquet: named once, with the missing magic as
	// the cause (not "file is smaller than indicated metadata size").
	bad := filepath.Join(dir, "bad.parquet")
	os.WriteFile(bad, []byte("id,region\n1,eu\n2,us\n"), 0o600)
	e.ok(t, "create-namespace", "sales")
	good := writeParquet(t, dir, "good.parquet", rows(0, 5, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), "eu"))
	e.ok(t, "insert", "-p", "sales.orders", good)
	for _, args := range [][]string{{"insert", "sales.orders", bad}, {"describe-parquet", bad}, {"create-table", "sales.x", "--schema-from-parquet", bad}} {
		msg := e.fails(t, args...)
		if strings.Count(msg, bad) != 1 || !strings.Contains(msg, "not a Parquet file (no PAR1 magic)") {
			t.Errorf("%q: want %s named once and the missing magic:\n%s", args, bad, msg)
		}
	}

	// A missing table without -p.
	if msg := e.fails(t, "insert", "sales.missing", good); !strings.Contains(msg, "add -p to create it") {
		t.Errorf("insert into a missing table does not suggest -p:\n%s", msg)
	}
	if msg := e.fails(t, "delete-table", "sales.missing"); !strings.Contains(msg, "add -p") {
		t.Errorf("delete-table of a missing table does not suggest -p:\n%s", msg)
	}
	if msg := e.fails(t, "create-namespace", "sales"); !strings.Contains(msg, "add -p") {
		t.Errorf("create-namespace of an existing namespace does not suggest -p:\n%s", msg)
	}

	// uri at the debug port, or at something that is no catalog at all.
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>hello</html>"))
	}))
	defer web.Close()
	for _, uri := range []string{c.Debug, web.URL} {
		other := &iceEnv{Config: writeConfig(t, "uri: "+uri+"\n")}
		msg := other.fails(t, "list-namespaces")
		if !strings.Contains(msg, uri+" is not an Iceberg REST catalog") || !strings.Contains(msg, "API port") ||
			strings.Contains(msg, "failed to decode error response") {
			t.Errorf("uri %s: want a message naming the API port:\n%s", uri, msg)
		}
	}
}

// TestPurgeLeavesNoEmptyDirectories: delete-table --purge on a file://
// warehouse removes the table's emptied directories (data/, metadata/,
// partition directories and the table's own), and nothing above it.
func TestPurgeLeavesNoEmptyDirectories(t *testing.T) {
	cfg := testenv.CatalogConfig(t)
	c := testenv.StartCatalog(t, cfg)
	e := &iceEnv{URL: c.URL, Config: writeConfig(t, "uri: "+c.URL+"\n")}
	dir := t.TempDir()
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	e.ok(t, "create-namespace", "sales")
	e.ok(t, "insert", "-p", "sales.orders", writeParquet(t, dir, "a.parquet", rows(0, 20, day, "eu", "us")),
		"--partition", `[{"column":"region","transform":"identity"}]`)
	e.ok(t, "insert", "sales.orders", writeParquet(t, dir, "b.parquet", rows(20, 20, day, "eu")))
	e.ok(t, "insert", "-p", "sales.kept", writeParquet(t, dir, "c.parquet", rows(0, 3, day, "eu")))
	var d struct {
		Location string `json:"location"`
	}
	decodeJSON(t, e.ok(t, "describe", "sales.orders", "--json"), &d)
	tableDir := strings.TrimPrefix(d.Location, "file://")
	if _, err := os.Stat(filepath.Join(tableDir, "data")); err != nil {
		t.Fatalf("no data directory before the purge: %v", err)
	}

	e.ok(t, "delete-table", "sales.orders", "--purge")
	if _, err := os.Stat(tableDir); !errors.Is(err, fs.ErrNotExist) {
		var left []string
		filepath.WalkDir(tableDir, func(p string, _ fs.DirEntry, _ error) error { left = append(left, p); return nil })
		t.Errorf("purged table's directory remains: %v", left)
	}
	warehouse := strings.TrimPrefix(cfg.Warehouse, "file://")
	if _, err := os.Stat(warehouse); err != nil {
		t.Errorf("the warehouse root went too: %v", err)
	}
	if got := e.scanIDs(t, "sales.kept"); len(got) != 3 {
		t.Errorf("the other table lost rows: %v", got)
	}
}
