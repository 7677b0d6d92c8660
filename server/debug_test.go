package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/internal/testenv"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMetricsCountRequestsAndCommits(t *testing.T) {
	ctx := context.Background()
	c := testenv.StartCatalog(t, testenv.CatalogConfig(t))
	cat := testenv.Client(t, c.URL)
	ident := table.Identifier{"m", "t"}
	if err := cat.CreateNamespace(ctx, ident[:1], nil); err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.CreateTable(ctx, ident, eventSchema)
	if err != nil {
		t.Fatal(err)
	}
	tx := tbl.NewTransaction()
	if err := tx.SetProperties(iceberg.Properties{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.LoadTable(ctx, ident); err != nil {
		t.Fatal(err)
	}
	status, body := get(t, c.Debug+"/metrics")
	if status != 200 {
		t.Fatalf("metrics: %d", status)
	}
	// The commit read its base, and the load the commit's file, from the
	// cache: two hits, no miss; the two files are cached.
	for _, want := range []string{
		"ice_metadata_cache_hits_total 2\n",
		"ice_metadata_cache_misses_total 0\n",
		"ice_metadata_cache_entries 2\n",
		"ice_metadata_cache_max_bytes 3.3554432e+07\n",
		`ice_commits_total{outcome="ok"} 1`,
		`ice_http_requests_total{code="200",method="POST",route="POST /v1/namespaces/{namespace}/tables/{table}"} 1`,
		`ice_http_request_duration_seconds_bucket{method="GET",route="GET /v1/config"`,
		`ice_commit_retries_total 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if s, _ := get(t, c.Debug+"/livez"); s != 200 {
		t.Errorf("livez %d", s)
	}
	if s, _ := get(t, c.Debug+"/healthz"); s != 200 {
		t.Errorf("healthz %d", s)
	}
}

// TestReadyzFollowsEtcd: readiness fails while etcd is gone, so a load
// balancer stops sending requests the replica cannot serve.
func TestReadyzFollowsEtcd(t *testing.T) {
	e := testenv.StartEmbeddedEtcd(t)
	c := testenv.StartCatalog(t, testenv.CatalogConfig(t, e.Endpoint))
	if s, _ := get(t, c.Debug+"/readyz"); s != 200 {
		t.Fatalf("readyz with etcd up: %d", s)
	}
	e.Close()
	if s, body := get(t, c.Debug+"/readyz"); s != 503 || !strings.Contains(body, "etcd") {
		t.Fatalf("readyz with etcd down: %d %s", s, body)
	}
	if s, _ := get(t, c.Debug+"/livez"); s != 200 {
		t.Fatalf("livez must not depend on etcd")
	}
}
