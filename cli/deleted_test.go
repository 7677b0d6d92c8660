package cli_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/server"
)

// ice list-deleted and ice undrop: a soft-dropped table is listed, a
// taken name is refused, and undrop --name brings the same rows back.
func TestListDeletedAndUndrop(t *testing.T) {
	cfg := testenv.CatalogConfig(t)
	cfg.SoftDrop = config.SoftDrop{Enabled: true}
	cfg.BearerTokens = append(cfg.BearerTokens, config.Token{Name: "admin", Value: "admin-secret"})
	srv, err := server.Start(context.Background(), cfg, testenv.DiscardLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	testenv.WaitReady(t, "http://"+srv.DebugAddr()+"/readyz")
	e := &iceEnv{URL: "http://" + srv.Addr(), Config: writeConfig(t, "uri: http://"+srv.Addr()+"\nbearerToken: admin-secret\n")}

	dir := t.TempDir()
	e.ok(t, "insert", "-p", "sales.t", writeParquet(t, dir, "a.parquet", rows(0, 3, day1, "eu")))
	before := e.ok(t, "scan", "sales.t")
	e.ok(t, "delete-table", "sales.t")
	list := e.ok(t, "list-deleted", "sales")
	id := regexp.MustCompile(`(?m)^([0-9a-f]{16})\s+table\s+t\s`).FindStringSubmatch(list)
	if id == nil {
		t.Fatalf("list-deleted does not list t:\n%s", list)
	}
	e.ok(t, "insert", "-p", "sales.t", writeParquet(t, dir, "b.parquet", rows(10, 1, day1, "us")))
	if msg := e.fails(t, "undrop", "sales", id[1]); !strings.Contains(msg, "new name") {
		t.Fatalf("undrop onto a taken name: %s", msg)
	}
	if out := e.ok(t, "undrop", "--name", "t_old", "sales", id[1]); !strings.Contains(out, "restored table sales.t_old") {
		t.Fatalf("undrop: %s", out)
	}
	if after := e.ok(t, "scan", "sales.t_old"); after != before {
		t.Fatalf("undropped table reads\n%s\nwant\n%s", after, before)
	}
	if list := e.ok(t, "list-deleted", "sales"); strings.Contains(list, id[1]) {
		t.Fatalf("still listed after undrop:\n%s", list)
	}
}
