package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// lossyTransport stands in for a network that loses the answer of a
// commit: it sends each table commit or transaction, throws a 2xx answer
// away and sends the same request again, as a retrying HTTP client would.
// With keyed, each commit carries a fresh Idempotency-Key, which the retry
// repeats. iceberg-go sends no key on commits, hence the transport.
type lossyTransport struct {
	keyed   bool
	retryTo string // host:port of the replica that gets the retry; "" for the same
	mu      sync.Mutex
	lost    []string // metadata-location of each answer thrown away
}

func isCommitPath(method, path string) bool {
	parts := strings.Split(path, "/")
	return method == http.MethodPost &&
		(path == "/v1/transactions/commit" || len(parts) == 6 && parts[2] == "namespaces" && parts[4] == "tables")
}

func (l *lossyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !isCommitPath(req.Method, req.URL.Path) {
		return http.DefaultTransport.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body.Close()
	key := ""
	if l.keyed {
		key = uuid.Must(uuid.NewV7()).String()
	}
	send := func(host string) (*http.Response, error) {
		r := req.Clone(req.Context())
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		if host != "" {
			r.URL.Host, r.Host = host, host
		}
		if key != "" {
			r.Header.Set("Idempotency-Key", key)
		}
		return http.DefaultTransport.RoundTrip(r)
	}
	first, err := send("")
	if err != nil {
		return nil, err
	}
	answer, err := io.ReadAll(first.Body)
	first.Body.Close()
	if err != nil {
		return nil, err
	}
	if first.StatusCode/100 != 2 {
		first.Body = io.NopCloser(bytes.NewReader(answer))
		return first, nil
	}
	var res struct {
		MetadataLocation string `json:"metadata-location"`
	}
	_ = json.Unmarshal(answer, &res)
	l.mu.Lock()
	l.lost = append(l.lost, res.MetadataLocation)
	l.mu.Unlock()
	return send(l.retryTo)
}

// twoReplicas starts two catalogs on one embedded etcd and one warehouse.
func twoReplicas(t *testing.T) (a, b *testenv.Catalog, etcdEndpoint string) {
	t.Helper()
	etcdEndpoint = testenv.StartEmbeddedEtcd(t).Endpoint
	warehouse := "file://" + t.TempDir()
	var cats []*testenv.Catalog
	for i := 0; i < 2; i++ {
		cfg := testenv.CatalogConfig(t, etcdEndpoint)
		cfg.Warehouse = warehouse
		cats = append(cats, testenv.StartCatalog(t, cfg))
	}
	return cats[0], cats[1], etcdEndpoint
}

// TestLostCommitAnswerIsReplayed appends to a table through a network that
// loses the commit's 200, so the commit is sent twice. With an
// Idempotency-Key the retry, on the same replica or on the other, gets the
// first answer back and the table has exactly one snapshot; without one the
// retry is a second commit and fails its requirement with 409.
func TestLostCommitAnswerIsReplayed(t *testing.T) {
	ctx := context.Background()
	a, b, _ := twoReplicas(t)
	setup := testenv.Client(t, a.URL)
	if err := setup.CreateNamespace(ctx, table.Identifier{"idem"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		keyed   bool
		retryTo string
	}{
		{"keyed retry on the same replica", true, ""},
		{"keyed retry on another replica", true, strings.TrimPrefix(b.URL, "http://")},
		{"retry without a key", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ident := table.Identifier{"idem", strings.ReplaceAll(tc.name, " ", "_")}
			if _, err := setup.CreateTable(ctx, ident, eventSchema); err != nil {
				t.Fatal(err)
			}
			lossy := &lossyTransport{keyed: tc.keyed, retryTo: tc.retryTo}
			cat := testenv.Client(t, a.URL, rest.WithCustomTransport(lossy))
			tbl, err := cat.LoadTable(ctx, ident)
			if err != nil {
				t.Fatal(err)
			}
			after, err := tbl.AppendTable(ctx, eventBatch(t, 0, 4), 10, nil)
			if len(lossy.lost) != 1 {
				t.Fatalf("the transport lost %d answers, want 1", len(lossy.lost))
			}
			current, lerr := setup.LoadTable(ctx, ident)
			if lerr != nil {
				t.Fatal(lerr)
			}
			if n := len(current.Metadata().Snapshots()); n != 1 {
				t.Errorf("table has %d snapshots after one append, want 1", n)
			}
			if current.MetadataLocation() != lossy.lost[0] {
				t.Errorf("current metadata %s, but the lost answer named %s", current.MetadataLocation(), lossy.lost[0])
			}
			if !tc.keyed {
				if !isCommitConflict(err) {
					t.Fatalf("retry without a key: got %v, want a 409 CommitFailed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("retried append: %v", err)
			}
			if after.MetadataLocation() != lossy.lost[0] {
				t.Errorf("retry answered %s, the first answer was %s", after.MetadataLocation(), lossy.lost[0])
			}
		})
	}
	t.Run("multi-table transaction", func(t *testing.T) {
		ids := []table.Identifier{{"idem", "tx_a"}, {"idem", "tx_b"}}
		before := map[string]int{}
		for _, id := range ids {
			tbl, err := setup.CreateTable(ctx, id, eventSchema)
			if err != nil {
				t.Fatal(err)
			}
			before[id[1]] = commitCount(tbl)
		}
		lossy := &lossyTransport{keyed: true, retryTo: strings.TrimPrefix(b.URL, "http://")}
		cat := testenv.Client(t, a.URL, rest.WithCustomTransport(lossy))
		set := []table.Update{table.NewSetPropertiesUpdate(iceberg.Properties{"k": "v"})}
		// No requirements: applied twice, each table would get two commits.
		if err := cat.CommitTransaction(ctx, []table.TableCommit{{Identifier: ids[0], Updates: set}, {Identifier: ids[1], Updates: set}}); err != nil {
			t.Fatalf("retried transaction: %v", err)
		}
		for _, id := range ids {
			tbl, err := setup.LoadTable(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got := commitCount(tbl) - before[id[1]]; got != 1 {
				t.Errorf("%v got %d commits from one keyed transaction sent twice, want 1", id, got)
			}
		}
	})
}

// TestConcurrentDuplicateCommits sends one keyed commit six times at once,
// alternating between two replicas: it is applied once, and every copy
// gets the same answer.
func TestConcurrentDuplicateCommits(t *testing.T) {
	ctx := context.Background()
	a, b, _ := twoReplicas(t)
	setup := testenv.Client(t, a.URL)
	ident := table.Identifier{"dup", "t"}
	if err := setup.CreateNamespace(ctx, ident[:1], nil); err != nil {
		t.Fatal(err)
	}
	tbl, err := setup.CreateTable(ctx, ident, eventSchema)
	if err != nil {
		t.Fatal(err)
	}
	commitsBefore := commitCount(tbl)
	key := uuid.Must(uuid.NewV7()).String()
	body := `{"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`
	const copies = 6
	var wg sync.WaitGroup
	answers := make([]rawAnswer, copies)
	for i := 0; i < copies; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			base := []string{a.URL, b.URL}[i%2]
			answers[i] = send(t, http.MethodPost, base+"/v1/namespaces/dup/tables/t", body, key)
		}(i)
	}
	wg.Wait()
	for i, ans := range answers {
		if ans.status != http.StatusOK {
			t.Fatalf("copy %d: %d %s", i, ans.status, ans.body)
		}
		if ans.location() != answers[0].location() || ans.etag != answers[0].etag {
			t.Errorf("copy %d answered %s (ETag %s), copy 0 %s (ETag %s)", i, ans.location(), ans.etag, answers[0].location(), answers[0].etag)
		}
	}
	after, err := setup.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	if got := commitCount(after) - commitsBefore; got != 1 {
		t.Errorf("%d commits from %d copies of one keyed commit, want 1", got, copies)
	}
	if after.MetadataLocation() != answers[0].location() {
		t.Errorf("table is at %s, the answers named %s", after.MetadataLocation(), answers[0].location())
	}
}

// TestIdempotencyKeyAnswers covers the rest of the contract on a live
// server: the advertised lifetime, replay of a 2xx and of a 4xx, 422 for a
// key reused with another body, and the record's lease in etcd.
func TestIdempotencyKeyAnswers(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.CatalogConfig(t)
	cfg.IdempotencyKeyLifetime = "PT2H"
	c := testenv.StartCatalog(t, cfg)

	var conf map[string]any
	if ans := send(t, http.MethodGet, c.URL+"/v1/config", "", ""); json.Unmarshal([]byte(ans.body), &conf) != nil || conf["idempotency-key-lifetime"] != "PT2H" {
		t.Fatalf("/v1/config: %s; want idempotency-key-lifetime PT2H", ans.body)
	}

	create := uuid.Must(uuid.NewV7()).String()
	first := send(t, http.MethodPost, c.URL+"/v1/namespaces", `{"namespace":["n1"]}`, create)
	again := send(t, http.MethodPost, c.URL+"/v1/namespaces", `{"namespace":["n1"]}`, create)
	if first.status != http.StatusOK || again.status != http.StatusOK || again.body != first.body {
		t.Fatalf("create and its replay: %d %s / %d %s; want the same 200 twice (not 409)", first.status, first.body, again.status, again.body)
	}

	props := uuid.Must(uuid.NewV7()).String()
	if ans := send(t, http.MethodPost, c.URL+"/v1/namespaces/n1/properties", `{"updates":{"a":"1"}}`, props); ans.status != http.StatusOK {
		t.Fatalf("update properties: %d %s", ans.status, ans.body)
	}
	reused := send(t, http.MethodPost, c.URL+"/v1/namespaces/n1/properties", `{"updates":{"a":"2"}}`, props)
	if reused.status != http.StatusUnprocessableEntity || !strings.Contains(reused.body, `"code":422`) {
		t.Fatalf("key reused with another body: %d %s; want a 422 ErrorModel", reused.status, reused.body)
	}
	if ns := send(t, http.MethodGet, c.URL+"/v1/namespaces/n1", "", ""); !strings.Contains(ns.body, `"a":"1"`) {
		t.Fatalf("the rejected request changed the namespace: %s", ns.body)
	}

	drop := uuid.Must(uuid.NewV7()).String()
	if ans := send(t, http.MethodDelete, c.URL+"/v1/namespaces/later", "", drop); ans.status != http.StatusNotFound {
		t.Fatalf("drop of a missing namespace: %d %s", ans.status, ans.body)
	}
	if ans := send(t, http.MethodPost, c.URL+"/v1/namespaces", `{"namespace":["later"]}`, ""); ans.status != http.StatusOK {
		t.Fatalf("create: %d %s", ans.status, ans.body)
	}
	if ans := send(t, http.MethodDelete, c.URL+"/v1/namespaces/later", "", drop); ans.status != http.StatusNotFound || !strings.Contains(ans.body, "NoSuchNamespace") {
		t.Fatalf("retried drop: %d %s; want the first answer, 404, replayed", ans.status, ans.body)
	}
	if ans := send(t, http.MethodHead, c.URL+"/v1/namespaces/later", "", ""); ans.status != http.StatusNoContent {
		t.Fatalf("a replayed drop dropped the namespace created since: HEAD %d", ans.status)
	}

	cli, err := etcd.Connect(ctx, clientv3.Config{Endpoints: []string{c.Server.EtcdEndpoint()}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for _, key := range []string{create, props, drop} {
		resp, err := cli.Get(ctx, "idempotency/"+key)
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("record of %s: %v %v", key, resp, err)
		}
		ttl, err := cli.TimeToLive(ctx, clientv3.LeaseID(resp.Kvs[0].Lease))
		if err != nil {
			t.Fatal(err)
		}
		if ttl.GrantedTTL != 7200+60 || ttl.TTL <= 0 {
			t.Errorf("record of %s: lease granted %ds, %ds left; want 7260s, the lifetime and the 1-min bucket", key, ttl.GrantedTTL, ttl.TTL)
		}
	}
}

// commitCount is the length of the table's metadata log: one per commit.
func commitCount(tbl *table.Table) int {
	n := 0
	for range tbl.Metadata().PreviousFiles() {
		n++
	}
	return n
}

type rawAnswer struct {
	status int
	body   string
	etag   string
}

func (a rawAnswer) location() string {
	var res struct {
		MetadataLocation string `json:"metadata-location"`
	}
	_ = json.Unmarshal([]byte(a.body), &res)
	return res.MetadataLocation
}

// send makes one request with an Idempotency-Key, unless key is "".
func send(t *testing.T, method, url, body, key string) rawAnswer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Error(err)
		return rawAnswer{}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return rawAnswer{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawAnswer{status: resp.StatusCode, body: string(b), etag: resp.Header.Get("ETag")}
}
