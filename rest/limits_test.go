package rest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ice-rest-catalog/ice/auth"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/rest"
	"github.com/ice-rest-catalog/ice/service"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// TestIdempotencyKeyEveryRoute walks every route the handler serves with a
// fresh Idempotency-Key (issue 14, finding 5): a read-only principal's
// requests store no record on any route, a writer's requests store none on
// the routes that only read or are the token endpoint, and a writer's
// write stores one.
func TestIdempotencyKeyEveryRoute(t *testing.T) {
	ctx := context.Background()
	cli := testenv.EtcdClient(t)
	wh, err := warehouse.Open(ctx, warehouse.Config{Location: "file://" + filepath.Join(t.TempDir(), "wh")})
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(auth.Config{Tokens: []auth.Token{{Name: "ro", Value: "ro", ReadOnly: true}, {Name: "rw", Value: "rw"}}})
	if err != nil {
		t.Fatal(err)
	}
	store := etcd.NewStore(cli, "default")
	svc := service.New(service.Config{Store: store, Warehouse: wh, Log: testenv.DiscardLogger()})
	h := rest.New(rest.Config{Service: svc, Auth: authn, Log: testenv.DiscardLogger(), Idempotency: store,
		Planner: service.NewPlanner(service.PlannerConfig{Service: svc, Plans: store, Log: testenv.DiscardLogger()})})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	records := func() int64 {
		resp, err := cli.Get(ctx, "idempotency/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return resp.Count
	}
	send := func(method, path, token string) int {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(`{"namespace":["x"],"source":{"namespace":["a"],"name":"t"},"destination":{"namespace":["a"],"name":"u"},"table-changes":[]}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", uuid.NewString())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	fill := strings.NewReplacer("{namespace}", "a", "{table}", "t", "{view}", "v", "{planID}", "p")
	var writes []string
	for _, pattern := range h.RoutePatternsForTest() {
		method, path, _ := strings.Cut(pattern, " ")
		if method == http.MethodGet || method == http.MethodHead {
			continue
		}
		path = fill.Replace(path)
		before := records()
		if st := send(method, path, "ro"); records() != before {
			t.Fatalf("%s by a read-only token (answered %d) stored a record", pattern, st)
		}
		st := send(method, path, "rw")
		switch stored := records() - before; {
		case strings.Contains(path, "/oauth/") || strings.HasSuffix(path, "/metrics") || strings.Contains(path, "/plan") ||
			strings.HasSuffix(path, "/tasks") || strings.HasSuffix(path, "/sign"):
			if stored != 0 {
				t.Errorf("%s, which only reads, stored %d records (answered %d)", pattern, stored, st)
			}
		default:
			writes = append(writes, pattern)
			if stored == 0 && st < 500 {
				t.Errorf("%s, a write, answered %d and stored no record", pattern, st)
			}
		}
	}
	if len(writes) < 15 {
		t.Errorf("only %d write routes walked: %v", len(writes), writes)
	}
}

// TestEventStreamLimit opens streams of the change feed up to
// limits.maxEventStreams: they hold no in-flight slot, so they have their
// own bound, and one more is refused with 503 and Retry-After at once. A
// closed stream gives its slot back.
func TestEventStreamLimit(t *testing.T) {
	cli := testenv.EtcdClient(t)
	wh, err := warehouse.Open(context.Background(), warehouse.Config{Location: "file://" + filepath.Join(t.TempDir(), "wh")})
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(auth.Config{Tokens: []auth.Token{{Name: "rw", Value: "rw"}}})
	if err != nil {
		t.Fatal(err)
	}
	store := etcd.NewStore(cli, "default")
	svc := service.New(service.Config{Store: store, Warehouse: wh, Log: testenv.DiscardLogger()})
	h := rest.New(rest.Config{Service: svc, Auth: authn, Log: testenv.DiscardLogger(), Feed: store,
		Limits: rest.Limits{MaxRequestsInFlight: 8, MaxEventStreams: 2}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	open := func() (*http.Response, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/management/v1/events", nil)
		req.Header.Set("Authorization", "Bearer rw")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		return resp, func() { cancel(); resp.Body.Close() }
	}
	var closers []context.CancelFunc
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for i := range 2 {
		resp, closeIt := open()
		closers = append(closers, closeIt)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %d, want 200", i, resp.StatusCode)
		}
	}
	resp, closeIt := open()
	body := make([]byte, 512)
	n, _ := resp.Body.Read(body)
	closeIt()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(body[:n]), `"type":"ServiceUnavailableException"`) || !strings.Contains(string(body[:n]), "limits.maxEventStreams") {
		t.Fatalf("third stream: %d Retry-After %q %s; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), body[:n])
	}
	// The streams hold no in-flight slot: other requests are served.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/config", nil)
	req.Header.Set("Authorization", "Bearer rw")
	cfg, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Body.Close()
	if cfg.StatusCode != http.StatusOK {
		t.Fatalf("config beside two streams: %d", cfg.StatusCode)
	}
	// A closed stream gives its slot back, once its handler has seen the
	// client go.
	closers[0]()
	closers = closers[1:]
	testenv.Eventually(t, 30*time.Second, "a stream admitted after one was closed", func() bool {
		resp, closeIt := open()
		closeIt()
		return resp.StatusCode == http.StatusOK
	})
}
