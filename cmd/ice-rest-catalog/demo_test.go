package main_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/rest"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/internal/demo"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// waitForDemo waits until the demo's last object, the view, exists.
func waitForDemo(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/v1/namespaces/" + demo.Namespace + "/views/" + demo.View)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("the demo data did not appear within 2 minutes")
}

// readDemo reads every demo table with iceberg-go and checks its row
// count; it returns the metadata locations.
func readDemo(t *testing.T, cat *rest.Catalog, wantPrefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	locs := map[string]string{}
	for _, dt := range demo.Tables() {
		tbl, err := cat.LoadTable(ctx, table.Identifier{demo.Namespace, dt.Name})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tbl.Location(), wantPrefix) {
			t.Errorf("%s at %s, want under %s", dt.Name, tbl.Location(), wantPrefix)
		}
		at, err := tbl.Scan().ToArrowTable(ctx)
		if err != nil {
			t.Fatalf("scan %s: %v", dt.Name, err)
		}
		if at.NumRows() != dt.Rows() {
			t.Errorf("%s: %d rows, want %d", dt.Name, at.NumRows(), dt.Rows())
		}
		at.Release()
		locs[dt.Name] = tbl.MetadataLocation()
	}
	return locs
}

// TestDemoCommand runs `ice-rest-catalog demo` (the real binary) on a
// file:// warehouse, reads the tables with iceberg-go, restarts it on the
// same data directory and checks that nothing was loaded twice.
func TestDemoCommand(t *testing.T) {
	bin := build(t)
	addr, dbg := testenv.FreeAddr(t), testenv.FreeAddr(t)
	dir := t.TempDir()
	args := []string{"demo", "--addr", addr, "--debug-addr", dbg, "--data-dir", filepath.Join(dir, "data")}
	cmd := startArgs(t, bin, dir, args)
	url := "http://" + addr
	waitForDemo(t, url)
	first := readDemo(t, testenv.Client(t, url), "file://"+filepath.Join(dir, "data", "warehouse"))
	runReadmeQuickStart(t, url)
	stop(t, cmd)

	cmd = startArgs(t, bin, dir, args)
	waitForDemo(t, url)
	again := readDemo(t, testenv.Client(t, url), "file://")
	for name, loc := range first {
		if again[name] != loc {
			t.Errorf("%s: metadata %s after the restart, was %s: the demo loaded it again", name, again[name], loc)
		}
	}
	stop(t, cmd)
}

// TestDemoOnS3 runs the demo against versitygw, as the README's quick start
// tells for ClickHouse: the tables live in s3://warehouse/demo and
// iceberg-go reads them through S3.
func TestDemoOnS3(t *testing.T) {
	s3s := testenv.StartS3(t)
	bin := build(t)
	addr, dbg := testenv.FreeAddr(t), testenv.FreeAddr(t)
	dir := t.TempDir()
	cmd := startArgs(t, bin, dir, []string{"demo", "--addr", addr, "--debug-addr", dbg, "--data-dir", filepath.Join(dir, "data"),
		"--s3-endpoint", s3s.Endpoint, "--s3-access-key", s3s.AccessKey, "--s3-secret-key", s3s.SecretKey})
	url := "http://" + addr
	waitForDemo(t, url)
	cat := testenv.Client(t, url, rest.WithAdditionalProps(iceberg.Properties{
		icebergio.S3EndpointURL: s3s.Endpoint, icebergio.S3AccessKeyID: s3s.AccessKey,
		icebergio.S3SecretAccessKey: s3s.SecretKey, icebergio.S3Region: s3s.Region}))
	readDemo(t, cat, "s3://ice-demo/warehouse/demo/")
	stop(t, cmd)
}
