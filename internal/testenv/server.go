package testenv

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/apache/iceberg-go/catalog/rest"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/server"
)

// Catalog is a catalog server started in-process by a test.
type Catalog struct {
	URL    string // http://127.0.0.1:port
	Debug  string // http://127.0.0.1:port of the debug listener
	Config *config.Config
	Server *server.Server
}

// CatalogConfig is a config for a test server: loopback ports picked by the
// kernel, anonymous read-write access, data under t.TempDir(). With etcd
// endpoints it uses them; without, an embedded etcd of its own.
func CatalogConfig(t testing.TB, etcdEndpoints ...string) *config.Config {
	t.Helper()
	text := "addr: 127.0.0.1:0\ndebugAddr: 127.0.0.1:0\nanonymousAccess: {enabled: true, accessConfig: {readOnly: false}}\n"
	text += "dataDir: " + t.TempDir() + "\n"
	if len(etcdEndpoints) > 0 {
		uri := "etcd:"
		for i, e := range etcdEndpoints {
			if i > 0 {
				uri += ","
			}
			uri += e
		}
		text += "uri: " + uri + "\nwarehouse: file://" + t.TempDir() + "\n"
	}
	cfg, err := config.Parse([]byte(text), func(string) string { return "" })
	if err != nil {
		t.Fatalf("test config: %v", err)
	}
	return cfg
}

// StartCatalog starts a server with cfg and stops it when the test ends.
// Every request and answer of its API is checked against the OpenAPI spec;
// the test fails at its end on any violation.
func StartCatalog(t testing.TB, cfg *config.Config) *Catalog {
	t.Helper()
	return StartCatalogExcusing(t, cfg, nil)
}

// StartCatalogExcusing is StartCatalog, except that the spec violations for
// which excused is true are forgiven: where the vendored spec, not the
// server, is wrong (each caller says why).
func StartCatalogExcusing(t testing.TB, cfg *config.Config, excused func(violation string) bool) *Catalog {
	t.Helper()
	v := NewSpecValidator(t)
	t.Cleanup(func() { // registered first, so it runs after the shutdown below
		for _, s := range v.Violations() {
			if excused == nil || !excused(s) {
				t.Errorf("OpenAPI spec violation: %s", s)
			}
		}
	})
	srv, err := server.Start(context.Background(), cfg, DiscardLogger(), server.WrapAPI(v.Wrap))
	if err != nil {
		t.Fatalf("start catalog: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	c := &Catalog{URL: "http://" + srv.Addr(), Debug: "http://" + srv.DebugAddr(), Config: cfg, Server: srv}
	WaitReady(t, c.Debug+"/readyz")
	return c
}

// WaitReady polls a readiness URL until it answers 200, for up to 30s.
func WaitReady(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 30s (last error %v)", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Client returns iceberg-go's REST client on the catalog at url.
func Client(t testing.TB, url string, opts ...rest.Option) *rest.Catalog {
	t.Helper()
	cat, err := rest.NewCatalog(context.Background(), "test", url, opts...)
	if err != nil {
		t.Fatalf("iceberg-go REST client for %s: %v", url, err)
	}
	t.Cleanup(func() { _ = cat.Close() })
	return cat
}
