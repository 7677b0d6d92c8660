package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/server"
)

// Issue 14, findings 5 to 8: what a single client can make the server
// store, read, compute or hold, and the names it can create. Each test
// runs against a real server with its embedded etcd.

// limitsConfig has two read-write tokens and a read-only one.
const limitsConfig = `
bearerTokens:
  - {name: rw, value: rw-token}
  - {name: ro, value: ro-token, accessConfig: {readOnly: true}}
  - {name: other, value: other-token}
`

// startLimits starts a server on extra+limitsConfig and creates namespace
// "a" with table "t".
func startLimits(t *testing.T, extra string) (*server.Server, string, *lockedBuffer) {
	t.Helper()
	cfg := parseConfig(t, extra+limitsConfig)
	logs := &lockedBuffer{}
	srv, err := server.Start(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	testenv.WaitReady(t, "http://"+srv.DebugAddr()+"/readyz")
	base := "http://" + srv.Addr()
	if st, b := call(t, "POST", base+"/v1/namespaces", "rw-token", map[string]any{"namespace": []string{"a"}}); st != 200 {
		t.Fatalf("setup namespace: %d %v", st, b)
	}
	if st, b := call(t, "POST", base+"/v1/namespaces/a/tables", "rw-token", tableBody("t")); st != 200 {
		t.Fatalf("setup table: %d %v", st, b)
	}
	return srv, base, logs
}

func tableBody(name string) map[string]any {
	return map[string]any{"name": name, "schema": map[string]any{"type": "struct", "schema-id": 0,
		"fields": []any{map[string]any{"id": 1, "name": "id", "type": "long", "required": false}}}}
}

func viewBody(name string) map[string]any {
	return map[string]any{"name": name,
		"schema": map[string]any{"type": "struct", "schema-id": 0, "fields": []any{map[string]any{"id": 1, "name": "id", "type": "long", "required": false}}},
		"view-version": map[string]any{"version-id": 1, "schema-id": 0, "timestamp-ms": 1, "default-namespace": []string{"a"},
			"summary":         map[string]string{"engine-name": "test"},
			"representations": []any{map[string]any{"type": "sql", "sql": "select 1", "dialect": "spark"}}},
		"properties": map[string]string{}}
}

func errType(b map[string]any) string {
	e, _ := b["error"].(map[string]any)
	s, _ := e["type"].(string)
	return s
}

// TestLimitsLookalikeNames: finding 7. A name that looks like another, or
// like nothing, is refused with 400 wherever a name is created; names
// that Java engines create (underscores, dashes, inner spaces, letters of
// any script) keep working.
func TestLimitsLookalikeNames(t *testing.T) {
	_, base, _ := startLimits(t, "")
	bad := map[string]string{
		"trailing space":     "orders ",
		"leading space":      " orders",
		"zero-width space":   "ord\u200bers",
		"zero-width joiner":  "ord\u200ders",
		"bidi override":      "ord\u202eredro",
		"bidi isolate":       "\u2066orders",
		"byte order mark":    "\ufefforders",
		"no-break space":     "ord\u00a0ers",
		"line separator":     "ord\u2028ers",
		"control character":  "ord\x7fers",
		"not NFC":            "cafe\u0301",
		"private use":        "ord\ue000ers",
		"256 bytes":          strings.Repeat("x", 256),
		"invalid UTF-8":      "ord\xffers",
		"ideographic space":  "ord\u3000ers",
		"tab":                "ord\ters",
		"trailing new line":  "orders\n",
		"soft hyphen":        "or\u00adders",
		"word joiner":        "ord\u2060ers",
		"right-to-left mark": "orders\u200f",
	}
	for what, name := range bad {
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"POST", "/v1/namespaces", map[string]any{"namespace": []string{name}}},
			{"POST", "/v1/namespaces", map[string]any{"namespace": []string{"a", name}}},
			{"POST", "/v1/namespaces/a/tables", tableBody(name)},
			{"POST", "/v1/namespaces/a/views", viewBody(name)},
			{"POST", "/v1/tables/rename", map[string]any{"source": map[string]any{"namespace": []string{"a"}, "name": "t"},
				"destination": map[string]any{"namespace": []string{"a"}, "name": name}}},
		} {
			if st, b := call(t, c.method, base+c.path, "rw-token", c.body); st != 400 || errType(b) != "BadRequestException" {
				t.Errorf("%s: %s %s answered %d %v, want 400", what, c.method, c.path, st, b)
			}
		}
	}
	for _, name := range []string{"orders_2024", "order-lines", "my table", "заказы", "注文", "café", "Ünïcödé_テーブル", strings.Repeat("x", 255)} {
		if st, b := call(t, "POST", base+"/v1/namespaces/a/tables", "rw-token", tableBody(name)); st != 200 {
			t.Errorf("create table %q: %d %v", name, st, b)
		}
		if st, b := call(t, "POST", base+"/v1/namespaces", "rw-token", map[string]any{"namespace": []string{name}}); st != 200 {
			t.Errorf("create namespace %q: %d %v", name, st, b)
		}
		if st, b := call(t, "GET", base+"/v1/namespaces/a/tables/"+url.PathEscape(name), "rw-token", nil); st != 200 {
			t.Errorf("load table %q: %d %v", name, st, b)
		}
	}
	// A name in a request path longer than any object key can hold is a
	// 400 before anything is looked up.
	long := strings.Repeat("n", 400<<10)
	if st, b := call(t, "GET", base+"/v1/namespaces/a/tables/"+long, "rw-token", nil); st != 400 {
		t.Errorf("load of a 400 KB name: %d %v", st, b)
	}
}

// TestLimitsRenameOntoItself: finding 8. Renaming a table or view onto its
// own name is a rename onto an existing name: 409, not 500
// CommitStateUnknown; a missing source stays 404. The entry is unchanged.
func TestLimitsRenameOntoItself(t *testing.T) {
	_, base, _ := startLimits(t, "")
	if st, b := call(t, "POST", base+"/v1/namespaces/a/views", "rw-token", viewBody("v")); st != 200 {
		t.Fatalf("create view: %d %v", st, b)
	}
	ref := func(name string) map[string]any { return map[string]any{"namespace": []string{"a"}, "name": name} }
	for _, c := range []struct {
		path, name string
		want       int
		typ        string
	}{
		{"/v1/tables/rename", "t", 409, "AlreadyExistsException"},
		{"/v1/views/rename", "v", 409, "AlreadyExistsException"},
		{"/v1/tables/rename", "nope", 404, "NoSuchTableException"},
		{"/v1/views/rename", "nope", 404, "NoSuchViewException"},
	} {
		st, b := call(t, "POST", base+c.path, "rw-token", map[string]any{"source": ref(c.name), "destination": ref(c.name)})
		if st != c.want || errType(b) != c.typ {
			t.Errorf("%s of %s onto itself: %d %v, want %d %s", c.path, c.name, st, b, c.want, c.typ)
		}
	}
	for _, p := range []string{"/v1/namespaces/a/tables/t", "/v1/namespaces/a/views/v"} {
		if st, b := call(t, "GET", base+p, "rw-token", nil); st != 200 {
			t.Errorf("%s after the refused renames: %d %v", p, st, b)
		}
	}
}

// TestLimitsPageToken: finding 8. A pageToken the server did not hand out
// for that listing is a 400, not an empty or shifted page; the tokens it
// hands out still page through everything.
func TestLimitsPageToken(t *testing.T) {
	_, base, _ := startLimits(t, "")
	for _, n := range []string{"t2", "t3", "t4"} {
		if st, b := call(t, "POST", base+"/v1/namespaces/a/tables", "rw-token", tableBody(n)); st != 200 {
			t.Fatalf("create %s: %d %v", n, st, b)
		}
	}
	if st, b := call(t, "POST", base+"/v1/namespaces", "rw-token", map[string]any{"namespace": []string{"b"}}); st != 200 {
		t.Fatalf("create b: %d %v", st, b)
	}
	var seen []string
	token := ""
	for range 10 {
		st, b := call(t, "GET", base+"/v1/namespaces/a/tables?pageSize=1&pageToken="+url.QueryEscape(token), "rw-token", nil)
		if st != 200 {
			t.Fatalf("page after %q: %d %v", token, st, b)
		}
		for _, id := range b["identifiers"].([]any) {
			seen = append(seen, id.(map[string]any)["name"].(string))
		}
		token, _ = b["next-page-token"].(string)
		if token == "" {
			break
		}
	}
	if strings.Join(seen, ",") != "t,t2,t3,t4" {
		t.Fatalf("paged through %v", seen)
	}
	_, b := call(t, "GET", base+"/v1/namespaces/a/tables?pageSize=1", "rw-token", nil)
	first, _ := b["next-page-token"].(string)
	for what, tok := range map[string]string{
		"garbage":                 "garbage",
		"a name past the end":     base64.RawURLEncoding.EncodeToString([]byte("zzz")),
		"bad base64":              "!!!",
		"another listing's token": first,
		"a forged check":          base64.RawURLEncoding.EncodeToString([]byte("t")) + ".00000000",
	} {
		path := "/v1/namespaces/a/tables"
		if what == "another listing's token" {
			path = "/v1/namespaces/b/tables"
		}
		for _, p := range []string{path, "/v1/namespaces", "/v1/namespaces/a/views"} {
			if p != path && what == "another listing's token" {
				continue
			}
			if st, b := call(t, "GET", base+p+"?pageToken="+url.QueryEscape(tok), "rw-token", nil); st != 400 || errType(b) != "BadRequestException" {
				t.Errorf("%s: GET %s answered %d %v, want 400", what, p, st, b)
			}
		}
	}
}

// raw sends a request with a body and headers and returns its status,
// headers and body.
func raw(t *testing.T, method, url, token string, body io.Reader, length int64, headers ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = length
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// etcdKeys counts the keys under prefix in the server's embedded etcd, and
// returns its database size.
func etcdKeys(t *testing.T, srv *server.Server, prefix string) (int64, int64) {
	t.Helper()
	ctx := context.Background()
	cli, err := etcd.Connect(ctx, clientv3.Config{Endpoints: []string{srv.EtcdEndpoint()}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	st, err := cli.Status(ctx, srv.EtcdEndpoint())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Count, st.DbSize
}

// TestLimitsIdempotencyNotForReadsOrStrangers: finding 5. Requests that may
// not write, or that only read, store no Idempotency-Key record, however
// many fresh keys they bring: a read-only token's metrics reports (on a
// 400 KB name and on a missing table), its refused commits, and
// unauthenticated token requests.
func TestLimitsIdempotencyNotForReadsOrStrangers(t *testing.T) {
	srv, base, _ := startLimits(t, "oauth:\n  signingKey: "+base64.StdEncoding.EncodeToString(hardeningKey)+"\n  clients: [{id: spark, secretHash: \""+secretHash("spark-secret")+"\"}]\n")
	_, size0 := etcdKeys(t, srv, "idempotency/")
	long := strings.Repeat("n", 400<<10)
	report := `{"report-type":"scan-report","table-name":"a.t","snapshot-id":1,"filter":true,"schema-id":0,"projected-field-ids":[1],"projected-field-names":["id"],"metrics":{}}`
	for i := range 100 {
		name := "missing"
		if i%2 == 0 {
			name = long
		}
		st, _, body := raw(t, "POST", base+"/v1/namespaces/a/tables/"+name+"/metrics", "ro-token", strings.NewReader(report), int64(len(report)),
			"Content-Type", "application/json", "Idempotency-Key", uuid.NewString())
		if st != 400 && st != 404 {
			t.Fatalf("metrics report on %d-byte name: %d %.200s", len(name), st, body)
		}
	}
	for range 20 {
		st, _, body := raw(t, "POST", base+"/v1/namespaces/a/tables/t", "ro-token", strings.NewReader(`{"updates":[]}`), -1,
			"Content-Type", "application/json", "Idempotency-Key", uuid.NewString())
		if st != 403 {
			t.Fatalf("read-only commit: %d %s", st, body)
		}
	}
	for range 1000 {
		form := "grant_type=bogus"
		st, h, body := raw(t, "POST", base+"/v1/oauth/tokens", "", strings.NewReader(form), int64(len(form)),
			"Content-Type", "application/x-www-form-urlencoded", "Idempotency-Key", uuid.NewString())
		if st != 400 || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("bogus grant: %d %s", st, body)
		}
	}
	// A real token is answered afresh each time, never replayed.
	key := uuid.NewString()
	var tokens []string
	for range 2 {
		form := "grant_type=client_credentials&client_id=spark&client_secret=spark-secret"
		st, _, body := raw(t, "POST", base+"/v1/oauth/tokens", "", strings.NewReader(form), int64(len(form)),
			"Content-Type", "application/x-www-form-urlencoded", "Idempotency-Key", key)
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if st != 200 || json.Unmarshal([]byte(body), &tok) != nil {
			t.Fatalf("token: %d %s", st, body)
		}
		tokens = append(tokens, tok.AccessToken)
	}
	if tokens[0] == tokens[1] {
		t.Errorf("a token request with a repeated Idempotency-Key got the stored token back")
	}
	n, size := etcdKeys(t, srv, "idempotency/")
	t.Logf("after 1,122 keyed requests that may not write or only read: %d idempotency keys, etcd database %d -> %d bytes", n, size0, size)
	if n != 0 {
		t.Errorf("%d idempotency keys stored for requests that may not write or only read", n)
	}
	if size-size0 > 4<<20 {
		t.Errorf("etcd grew from %d to %d bytes", size0, size)
	}
}

// TestLimitsIdempotencyQuota: finding 5. An authorized write's key is
// recorded; a principal holds at most idempotencyKeysPerPrincipal keys
// (one more is 429 with Retry-After, and stores nothing) while its own
// retries still replay and other principals are unaffected; an answer over
// idempotencyMaxRecordBytes is not stored.
func TestLimitsIdempotencyQuota(t *testing.T) {
	srv, base, _ := startLimits(t, "limits: {idempotencyKeysPerPrincipal: 3, idempotencyMaxRecordBytes: 1000}\n")
	create := func(token, key, ns string) (int, http.Header, string) {
		b := fmt.Sprintf(`{"namespace":[%q]}`, ns)
		return raw(t, "POST", base+"/v1/namespaces", token, strings.NewReader(b), int64(len(b)), "Content-Type", "application/json", "Idempotency-Key", key)
	}
	keys := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	for i, k := range keys {
		if st, _, b := create("rw-token", k, fmt.Sprint("q", i)); st != 200 {
			t.Fatalf("keyed create %d: %d %s", i, st, b)
		}
	}
	st, h, b := create("rw-token", uuid.NewString(), "q3")
	if st != 429 || h.Get("Retry-After") == "" || !strings.Contains(b, "TooManyRequestsException") {
		t.Fatalf("a fourth key: %d %v %s, want 429 with Retry-After", st, h, b)
	}
	if st, _, _ := raw(t, "HEAD", base+"/v1/namespaces/q3", "rw-token", nil, 0); st != 404 {
		t.Errorf("the refused request ran: HEAD q3 %d", st)
	}
	if st, _, b := create("rw-token", keys[0], "q0"); st != 200 {
		t.Errorf("retry of a held key: %d %s, want its answer replayed", st, b)
	}
	if st, _, b := create("other-token", uuid.NewString(), "o1"); st != 200 {
		t.Errorf("another principal: %d %s", st, b)
	}
	if n, _ := etcdKeys(t, srv, "idempotency/"); n != 3+3+2 { // records, and markers that count them
		t.Errorf("%d idempotency keys, want 4 records and their 4 markers", n)
	}
	// A createNamespace answer echoes its properties, here over 1000
	// bytes: the request runs, and its answer is not stored.
	nb := fmt.Sprintf(`{"namespace":["big"],"properties":{"p":%q}}`, strings.Repeat("x", 2000))
	if st, _, b := raw(t, "POST", base+"/v1/namespaces", "other-token", strings.NewReader(nb), int64(len(nb)),
		"Content-Type", "application/json", "Idempotency-Key", uuid.NewString()); st != 200 {
		t.Fatalf("create namespace: %d %s", st, b)
	}
	if n, _ := etcdKeys(t, srv, "idempotency/"); n != 8 {
		t.Errorf("%d idempotency keys after an answer over the record limit, want still 8", n)
	}
}

// zeros is an endless body that costs the sender no memory.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestLimitsBodiesNotReadBeforeAuthorization: finding 6. Concurrent 16 MiB
// bodies from a read-only token, to a route that names its namespace in
// the body and to a keyed commit, are each answered 403 without being
// read; a body whose Content-Length is over the limit is 413 unread. The
// measure is the bytes the whole test process allocates, which a body
// read into memory would add to in full.
func TestLimitsBodiesNotReadBeforeAuthorization(t *testing.T) {
	_, base, _ := startLimits(t, "")
	const size, n = 16 << 20, 24
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path, hdr := "/v1/namespaces", []string{"Content-Type", "application/json"}
			if i%2 == 1 {
				path, hdr = "/v1/namespaces/a/tables/t", append(hdr, "Idempotency-Key", uuid.NewString())
			}
			req, _ := http.NewRequest("POST", base+path, io.LimitReader(zeros{}, size))
			req.ContentLength = size
			req.Header.Set("Authorization", "Bearer ro-token")
			for j := 0; j+1 < len(hdr); j += 2 {
				req.Header.Set(hdr[j], hdr[j+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- fmt.Sprintf("%s: %v", path, err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 403 {
				errs <- fmt.Sprintf("%s: %d %s", path, resp.StatusCode, b)
			}
		}()
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	grew := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d concurrent %d MiB requests refused with 403: %d MiB allocated by the test process", n, size>>20, grew>>20)
	if grew > n*size/8 {
		t.Errorf("%d requests of %d MiB refused with 403 allocated %d MiB: their bodies were read", n, size>>20, grew>>20)
	}
	// A writer's body over the limit, by its Content-Length, is 413.
	over := int64(16<<20 + 1)
	st, _, b := raw(t, "POST", base+"/v1/namespaces/a/tables/t", "rw-token", io.LimitReader(zeros{}, over), over, "Content-Type", "application/json")
	if st != 413 || !strings.Contains(b, "RequestEntityTooLargeException") {
		t.Errorf("a body over the limit: %d %s", st, b)
	}
}

// TestLimitsRequestsInFlight: finding 6. A replica serves at most
// limits.maxRequestsInFlight requests at once; one more is answered 503
// with Retry-After at once, and the replica serves again when they end.
func TestLimitsRequestsInFlight(t *testing.T) {
	_, base, _ := startLimits(t, "limits: {maxRequestsInFlight: 2}\n")
	var pipes []*io.PipeWriter
	done := make(chan int, 2)
	for i := range 2 {
		pr, pw := io.Pipe()
		pipes = append(pipes, pw)
		go func() {
			req, _ := http.NewRequest("POST", base+"/v1/namespaces", pr)
			req.Header.Set("Authorization", "Bearer rw-token")
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- -1
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		if _, err := pw.Write([]byte(fmt.Sprintf(`{"namespace":["slow%d"]`, i))); err != nil {
			t.Fatal(err)
		}
	}
	// The two slow requests are in the server once a third is refused.
	var st int
	var h http.Header
	var body string
	for range 500 {
		st, h, body = raw(t, "GET", base+"/v1/config", "rw-token", nil, 0)
		if st == 503 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st != 503 || h.Get("Retry-After") == "" || !strings.Contains(body, "ServiceUnavailableException") {
		t.Fatalf("with two requests in flight and a limit of 2: %d %v %s, want 503 with Retry-After", st, h, body)
	}
	for _, pw := range pipes {
		_, _ = pw.Write([]byte("}"))
		pw.Close()
	}
	for range 2 {
		if got := <-done; got != 200 {
			t.Errorf("a slow request ended with %d", got)
		}
	}
	if st, _, b := raw(t, "GET", base+"/v1/config", "rw-token", nil, 0); st != 200 {
		t.Errorf("after the slow requests ended: %d %s", st, b)
	}
}

// TestLimitsScanFilter: finding 6. A filter nested 9,000 deep, or an "in"
// list of a million values, is a 400 that names the limit, before
// iceberg-go parses it.
func TestLimitsScanFilter(t *testing.T) {
	_, base, _ := startLimits(t, "")
	deep := strings.Repeat(`{"type":"not","child":`, 9000) + `{"type":"eq","term":"id","value":1}` + strings.Repeat("}", 9000)
	var in strings.Builder
	in.WriteString(`{"type":"in","term":"id","values":[`)
	for i := range 1_000_000 {
		if i > 0 {
			in.WriteByte(',')
		}
		fmt.Fprint(&in, i)
	}
	in.WriteString("]}")
	client := &http.Client{Timeout: 30 * time.Second} // without the bounds, the deep filter takes minutes
	for what, c := range map[string]struct{ filter, limit string }{
		"9,000 nested not":     {deep, "maxScanFilterDepth"},
		"1M-value in list":     {in.String(), "maxScanFilterValues"},
		"not JSON at the end":  {`{"type":"eq","term":"id","value":1`, ""},
		"a normal filter runs": {`{"type":"and","left":{"type":"gt","term":"id","value":1},"right":{"type":"in","term":"id","values":[1,2,3]}}`, "-"},
	} {
		body := `{"filter":` + c.filter + `}`
		req, _ := http.NewRequest("POST", base+"/v1/namespaces/a/tables/t/plan", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer ro-token")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch c.limit {
		case "-":
			if resp.StatusCode != 200 {
				t.Errorf("%s: %d %s", what, resp.StatusCode, b)
			}
		default:
			if resp.StatusCode != 400 || !strings.Contains(string(b), c.limit) || !strings.Contains(string(b), "BadRequestException") {
				t.Errorf("%s: %d %.300s, want 400 naming %s", what, resp.StatusCode, b, c.limit)
			}
		}
	}
}

// TestLimitsNamespaceProperties: finding 6. 500k properties are a 413, as
// docs/etcd-schema.md promises, not 500 CommitStateUnknown, at create and
// at update; with a bound raised past etcd's own, etcd's refusal is a 413
// too. Nothing is stored.
func TestLimitsNamespaceProperties(t *testing.T) {
	var props strings.Builder
	for i := range 500_000 {
		if i > 0 {
			props.WriteByte(',')
		}
		fmt.Fprintf(&props, `"k%d":"v"`, i)
	}
	create := `{"namespace":["big"],"properties":{` + props.String() + `}}`
	update := `{"updates":{` + props.String() + `}}`
	for _, extra := range []string{"", "limits: {maxNamespacePropertiesBytes: 104857600}\n"} {
		_, base, _ := startLimits(t, extra)
		if st, b := call(t, "POST", base+"/v1/namespaces", "rw-token", create); st != 413 || errType(b) != "RequestEntityTooLargeException" {
			t.Errorf("%screate with 500k properties: %d %v", extra, st, b)
		}
		if st, b := call(t, "POST", base+"/v1/namespaces/a/properties", "rw-token", update); st != 413 || errType(b) != "RequestEntityTooLargeException" {
			t.Errorf("%supdate with 500k properties: %d %v", extra, st, b)
		}
		if st, _ := call(t, "GET", base+"/v1/namespaces/big", "rw-token", nil); st != 404 {
			t.Errorf("%sthe refused namespace exists: %d", extra, st)
		}
		if st, b := call(t, "GET", base+"/v1/namespaces/a", "rw-token", nil); st != 200 || len(b["properties"].(map[string]any)) != 0 {
			t.Errorf("%snamespace a after the refused update: %d %v", extra, st, b)
		}
	}
}

// TestLimitsTokenRate: finding 7. Client-credentials requests are limited
// per client id before the secret is checked: past the burst, 429 with
// Retry-After in the OAuthError shape. Other client ids are unaffected.
func TestLimitsTokenRate(t *testing.T) {
	_, base, _ := startLimits(t, "limits: {tokenRequestsPerSecond: 0.001, tokenRequestBurst: 3}\noauth:\n  signingKey: "+base64.StdEncoding.EncodeToString(hardeningKey)+"\n  clients:\n"+
		"    - {id: spark, secretHash: \""+secretHash("spark-secret")+"\"}\n    - {id: trino, secretHash: \""+secretHash("trino-secret")+"\"}\n")
	token := func(client, secret string) (int, http.Header, string) {
		form := "grant_type=client_credentials&client_id=" + client + "&client_secret=" + secret
		return raw(t, "POST", base+"/v1/oauth/tokens", "", strings.NewReader(form), int64(len(form)), "Content-Type", "application/x-www-form-urlencoded")
	}
	for i := range 3 {
		if st, _, b := token("spark", "guess"); st != 401 {
			t.Fatalf("guess %d: %d %s", i, st, b)
		}
	}
	st, h, b := token("spark", "spark-secret")
	var oe struct {
		Error string `json:"error"`
	}
	if st != 429 || h.Get("Retry-After") == "" || json.Unmarshal([]byte(b), &oe) != nil || oe.Error != "invalid_request" {
		t.Errorf("past the burst: %d %v %s, want 429 with Retry-After and an OAuthError", st, h, b)
	}
	if st, _, b := token("trino", "trino-secret"); st != 200 {
		t.Errorf("another client: %d %s", st, b)
	}
}
