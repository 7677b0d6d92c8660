package rest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	clientv3 "go.etcd.io/etcd/client/v3"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/auth"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/rest"
	"github.com/ice-rest-catalog/ice/service"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// dyingStore aborts the request right after etcd applied a swap, as a
// replica that crashes at that moment would: nothing after the swap runs
// and the client gets no answer. (A real process kill would take the
// test's etcd and warehouse down with it; the abort stops the request at
// the same point.)
type dyingStore struct {
	*etcd.Store
	die atomic.Bool
	// hold, when set, keeps every swap waiting until it is closed.
	hold chan struct{}
	// pending receives one value each time a claim finds the key running.
	pending chan struct{}
}

func (d *dyingStore) SwapTables(ctx context.Context, swaps []ice.TableSwap, claim *ice.IdempotencyClaim) error {
	if d.hold != nil {
		<-d.hold
	}
	err := d.Store.SwapTables(ctx, swaps, claim)
	if err == nil && d.die.CompareAndSwap(true, false) {
		panic(http.ErrAbortHandler)
	}
	return err
}

func (d *dyingStore) ClaimIdempotencyKey(ctx context.Context, key, fp string, lifetime time.Duration, quota ice.IdempotencyQuota) (*ice.IdempotencyClaim, *ice.IdempotencyRecord, error) {
	claim, rec, err := d.Store.ClaimIdempotencyKey(ctx, key, fp, lifetime, quota)
	if rec != nil && rec.Pending && d.pending != nil {
		select {
		case d.pending <- struct{}{}:
		default: // already signalled
		}
	}
	return claim, rec, err
}

func newKeyedAPI(t testing.TB) (*api, *dyingStore, *clientv3.Client) {
	t.Helper()
	cli := testenv.EtcdClient(t)
	wh, err := warehouse.Open(context.Background(), warehouse.Config{Location: "file://" + filepath.Join(t.TempDir(), "wh")})
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(anonymousRW())
	if err != nil {
		t.Fatal(err)
	}
	store := &dyingStore{Store: etcd.NewStore(cli, "default")}
	h := rest.New(rest.Config{
		Service:     service.New(service.Config{Store: store, Warehouse: wh, Log: testenv.DiscardLogger()}),
		Auth:        authn,
		Log:         testenv.DiscardLogger(),
		Idempotency: store,
		// The default quota, so that tests and the benchmark run the
		// claim as production does (config.DefaultIdempotencyKeysPerPrincipal).
		Limits: rest.Limits{IdempotencyKeysPerPrincipal: 1000},
		// Secrets, which must not be copied into idempotency records.
		VendedConfig: map[string]string{"s3.secret-access-key": "SECRET-SK"},
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &api{Server: srv, h: h}, store, cli
}

// TestCommitAppliedBeforeACrashIsReplayed: the replica applies a keyed
// commit and dies before answering. The retry must find the outcome that
// the commit's own Txn recorded and replay it, not commit a second time.
func TestCommitAppliedBeforeACrashIsReplayed(t *testing.T) {
	a, store, _ := newKeyedAPI(t)
	a.do(t, "POST", "/v1/namespaces", `{"namespace":["db"]}`)
	if r := a.do(t, "POST", "/v1/namespaces/db/tables", `{"name":"t","schema":`+schema+`}`); r.status != 200 {
		t.Fatalf("create table: %d %s", r.status, r.raw)
	}
	key := uuid.Must(uuid.NewV7()).String()
	commit := `{"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`

	store.die.Store(true)
	req, _ := http.NewRequest("POST", a.URL+"/v1/namespaces/db/tables/t", strings.NewReader(commit))
	req.Header.Set("Idempotency-Key", key)
	// A fresh connection: Go's transport itself retries a request that
	// carries an Idempotency-Key when a reused connection breaks.
	once := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := once.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the dying replica answered %d", resp.StatusCode)
	}

	retry := a.do(t, "POST", "/v1/namespaces/db/tables/t", commit, "Idempotency-Key", key)
	if retry.status != 200 {
		t.Fatalf("retry: %d %s", retry.status, retry.raw)
	}
	load := a.do(t, "GET", "/v1/namespaces/db/tables/t", "")
	if retry.body["metadata-location"] != load.body["metadata-location"] {
		t.Errorf("retry answered %v, the table is at %v", retry.body["metadata-location"], load.body["metadata-location"])
	}
	md := load.body["metadata"].(map[string]any)
	if log, _ := md["metadata-log"].([]any); len(log) != 1 {
		t.Errorf("metadata-log has %d entries after create and one commit, want 1: the commit was applied twice", len(log))
	}
	if retry.header.Get("ETag") == "" || retry.header.Get("ETag") != load.header.Get("ETag") {
		t.Errorf("replayed ETag %q, loadTable's %q", retry.header.Get("ETag"), load.header.Get("ETag"))
	}
}

// TestIdempotencyKeyHeaderChecks: a key must be a UUID; reads ignore it; a
// key reused on another operation is 422.
func TestIdempotencyKeyHeaderChecks(t *testing.T) {
	a, _, _ := newKeyedAPI(t)
	wantError(t, a.do(t, "POST", "/v1/namespaces", `{"namespace":["x"]}`, "Idempotency-Key", "not-a-uuid"), 400, "BadRequestException")
	if r := a.do(t, "GET", "/v1/namespaces/x", "", "Idempotency-Key", "not-a-uuid"); r.status != 404 {
		t.Errorf("GET with a key: %d, want the key ignored (404)", r.status)
	}
	key := strings.ToUpper(uuid.Must(uuid.NewV7()).String())
	if r := a.do(t, "POST", "/v1/namespaces", `{"namespace":["x"]}`, "Idempotency-Key", key); r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	// The same key in lower case is the same key.
	wantError(t, a.do(t, "DELETE", "/v1/namespaces/x", "", "Idempotency-Key", strings.ToLower(key)), 422, "UnprocessableEntityException")
	if r := a.do(t, "HEAD", "/v1/namespaces/x", ""); r.status != 204 {
		t.Errorf("the rejected drop ran: HEAD %d", r.status)
	}
	if r := a.do(t, "GET", "/v1/config", ""); r.body["idempotency-key-lifetime"] != "PT30M" {
		t.Errorf("/v1/config: %s; want idempotency-key-lifetime PT30M", r.raw)
	}
}

// TestVendedCredentialsAreNotStored: a keyed createTable that asked for
// vended credentials is replayed with them, but etcd never holds them.
func TestVendedCredentialsAreNotStored(t *testing.T) {
	a, _, cli := newKeyedAPI(t)
	a.do(t, "POST", "/v1/namespaces", `{"namespace":["db"]}`)
	key := uuid.Must(uuid.NewV7()).String()
	body := `{"name":"t","schema":` + schema + `}`
	first := a.do(t, "POST", "/v1/namespaces/db/tables", body, "Idempotency-Key", key, "X-Iceberg-Access-Delegation", "vended-credentials")
	replay := a.do(t, "POST", "/v1/namespaces/db/tables", body, "Idempotency-Key", key, "X-Iceberg-Access-Delegation", "vended-credentials")
	if first.status != 200 || replay.status != 200 {
		t.Fatalf("create and replay: %d %s / %d %s", first.status, first.raw, replay.status, replay.raw)
	}
	for _, r := range []reply{first, replay} {
		if cfg, _ := r.body["config"].(map[string]any); cfg["s3.secret-access-key"] != "SECRET-SK" {
			t.Errorf("answer's config %v lacks the vended credentials", r.body["config"])
		}
	}
	if replay.body["metadata-location"] != first.body["metadata-location"] || replay.header.Get("ETag") != first.header.Get("ETag") {
		t.Errorf("replay differs: %v %s, first %v %s", replay.body["metadata-location"], replay.header.Get("ETag"),
			first.body["metadata-location"], first.header.Get("ETag"))
	}
	resp, err := cli.Get(context.Background(), "idempotency/"+key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("record: %v %v", resp, err)
	}
	if strings.Contains(string(resp.Kvs[0].Value), "SECRET-SK") {
		t.Error("the idempotency record in etcd holds the vended secret")
	}
}

// TestDuplicateWaitsForTheRunningRequest: a duplicate that arrives while
// the first request with its key is mid-commit waits for it and gets its
// answer; the commit is applied once.
func TestDuplicateWaitsForTheRunningRequest(t *testing.T) {
	a, store, _ := newKeyedAPI(t)
	a.do(t, "POST", "/v1/namespaces", `{"namespace":["db"]}`)
	if r := a.do(t, "POST", "/v1/namespaces/db/tables", `{"name":"t","schema":`+schema+`}`); r.status != 200 {
		t.Fatalf("create table: %d %s", r.status, r.raw)
	}
	store.hold, store.pending = make(chan struct{}), make(chan struct{}, 1)
	release := sync.OnceFunc(func() { close(store.hold) })
	t.Cleanup(release) // a failed test must not leave a request blocked
	key := uuid.Must(uuid.NewV7()).String()
	commit := `{"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`
	answers := make(chan reply, 2)
	for i := 0; i < 2; i++ {
		go func() {
			answers <- a.do(t, "POST", "/v1/namespaces/db/tables/t", commit, "Idempotency-Key", key)
		}()
	}
	select {
	case <-store.pending: // one copy holds the key, the other found it running
	case <-time.After(30 * time.Second):
		t.Fatal("no copy found the key running")
	}
	release()
	first, second := <-answers, <-answers
	if first.status != 200 || second.status != 200 || first.body["metadata-location"] != second.body["metadata-location"] {
		t.Fatalf("answers: %d %v / %d %v; want the same 200", first.status, first.body["metadata-location"], second.status, second.body["metadata-location"])
	}
	load := a.do(t, "GET", "/v1/namespaces/db/tables/t", "")
	if log, _ := load.body["metadata"].(map[string]any)["metadata-log"].([]any); len(log) != 1 {
		t.Errorf("metadata-log has %d entries after create and one commit, want 1", len(log))
	}
}

// TestDuplicateOfAStuckRequestGets503: when the first request with a key
// runs longer than a duplicate waits, the duplicate gets 503 and
// Retry-After, never a final answer; once the first is done, a retry
// replays it.
func TestDuplicateOfAStuckRequestGets503(t *testing.T) {
	a, store, cli := newKeyedAPI(t)
	a.h.SetPendingWaitForTest(100 * time.Millisecond)
	a.do(t, "POST", "/v1/namespaces", `{"namespace":["db"]}`)
	if r := a.do(t, "POST", "/v1/namespaces/db/tables", `{"name":"t","schema":`+schema+`}`); r.status != 200 {
		t.Fatalf("create table: %d %s", r.status, r.raw)
	}
	store.hold, store.pending = make(chan struct{}), make(chan struct{}, 1)
	release := sync.OnceFunc(func() { close(store.hold) })
	t.Cleanup(release) // a failed test must not leave a request blocked
	key := uuid.Must(uuid.NewV7()).String()
	commit := `{"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`
	firstDone := make(chan reply, 1)
	go func() { firstDone <- a.do(t, "POST", "/v1/namespaces/db/tables/t", commit, "Idempotency-Key", key) }()

	// Only once the first holds the key may the duplicate go: else the
	// duplicate would be the one to hold it, and block.
	for i := 0; ; i++ {
		resp, err := cli.Get(context.Background(), "idempotency/"+key, clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Count == 1 {
			break
		}
		if i == 600 {
			t.Fatal("the first request did not claim its key within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	dup := a.do(t, "POST", "/v1/namespaces/db/tables/t", commit, "Idempotency-Key", key)
	wantError(t, dup, 503, "ServiceUnavailableException")
	if dup.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	release()
	first := <-firstDone
	retry := a.do(t, "POST", "/v1/namespaces/db/tables/t", commit, "Idempotency-Key", key)
	if first.status != 200 || retry.status != 200 || retry.body["metadata-location"] != first.body["metadata-location"] {
		t.Fatalf("first %d %v, retry %d %v; want the same 200", first.status, first.body["metadata-location"], retry.status, retry.body["metadata-location"])
	}
}
