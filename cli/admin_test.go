package cli_test

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/server"
)

// startAdminCatalog is startFileCatalog with a read-write bearer token, which
// the admin endpoints require, and without the OpenAPI check of every
// exchange, which would flag those endpoints: they are this server's own,
// not part of the Iceberg REST spec.
func startAdminCatalog(t *testing.T) *iceEnv {
	t.Helper()
	cfg := testenv.CatalogConfig(t)
	cfg.BearerTokens = append(cfg.BearerTokens, config.Token{Name: "admin", Value: "admin-secret"})
	srv, err := server.Start(context.Background(), cfg, testenv.DiscardLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	url := "http://" + srv.Addr()
	testenv.WaitReady(t, "http://"+srv.DebugAddr()+"/readyz")
	return &iceEnv{URL: url, Config: writeConfig(t, "uri: "+url+"\nbearerToken: admin-secret\n")}
}

// TestCatalogExportImport exports a namespace and imports it back with a
// dry run, through the server's admin endpoints.
func TestCatalogExportImport(t *testing.T) {
	e := startAdminCatalog(t)
	dir := t.TempDir()
	// insert -p creates the missing namespace as well as the table.
	e.ok(t, "insert", "-p", "exp.t", writeParquet(t, dir, "a.parquet", rows(0, 3, day1, "eu")))

	out := filepath.Join(dir, "snapshot.json")
	e.ok(t, "catalog-export", "--namespace", "exp", "-o", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "exp") {
		t.Fatalf("export does not mention the namespace: %s", b)
	}
	if stdout := e.ok(t, "catalog-export"); !strings.Contains(stdout, "exp") {
		t.Fatalf("export to stdout: %s", stdout)
	}
	res := e.ok(t, "catalog-import", out, "--dry-run")
	if strings.TrimSpace(res) == "" {
		t.Fatal("catalog-import printed nothing")
	}
	if r := runIce(t, b, "-c", e.Config, "catalog-import", "-", "--dry-run", "--overwrite"); r.Code != 0 {
		t.Fatalf("catalog-import from stdin: %+v", r)
	}
}

// TestBearerToken checks that the CLI sends bearerToken from its config.
func TestBearerToken(t *testing.T) {
	cfg := testenv.CatalogConfig(t)
	cfg.AnonymousAccess = config.AnonymousAccess{}
	cfg.BearerTokens = []config.Token{{Name: "cli", Value: "s3cret"}}
	c := testenv.StartCatalog(t, cfg)
	with := &iceEnv{URL: c.URL, Config: writeConfig(t, "uri: "+c.URL+"\nbearerToken: s3cret\n")}
	without := &iceEnv{URL: c.URL, Config: writeConfig(t, "uri: "+c.URL+"\n")}
	with.ok(t, "check")
	without.fails(t, "check")
}

// TestTLS puts the catalog behind an HTTPS proxy with a self-signed
// certificate: the CLI refuses it until given the CA (as PEM or base64) or
// told not to verify.
func TestTLS(t *testing.T) {
	plain := startFileCatalog(t)
	target, err := url.Parse(plain.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(target))
	proxy.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	proxy.StartTLS()
	t.Cleanup(proxy.Close)
	pemCert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: proxy.Certificate().Raw}))
	indented := "    " + strings.ReplaceAll(strings.TrimSpace(pemCert), "\n", "\n    ")

	cfg := func(extra string) *iceEnv {
		return &iceEnv{URL: proxy.URL, Config: writeConfig(t, "uri: "+proxy.URL+"\n"+extra)}
	}
	if msg := cfg("").fails(t, "check"); !strings.Contains(msg, "certificate") {
		t.Fatalf("unverified server accepted: %s", msg)
	}
	cfg("caCrt: |\n"+indented+"\n").ok(t, "check")
	cfg("caCrt: base64:"+base64.StdEncoding.EncodeToString([]byte(pemCert))+"\n").ok(t, "check")
	cfg("sslVerify: false\n").ok(t, "check")
	cfg("").ok(t, "check", "--insecure")
}
