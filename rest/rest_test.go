package rest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ice-rest-catalog/ice/auth"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/rest"
	"github.com/ice-rest-catalog/ice/service"
	"github.com/ice-rest-catalog/ice/warehouse"
)

type api struct {
	*httptest.Server
	h *rest.Handler
}

func newAPI(t *testing.T, ac auth.Config) *api {
	t.Helper()
	ctx := context.Background()
	cli := testenv.EtcdClient(t)
	wh, err := warehouse.Open(ctx, warehouse.Config{Location: "file://" + filepath.Join(t.TempDir(), "wh")})
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(ac)
	if err != nil {
		t.Fatal(err)
	}
	h := rest.New(rest.Config{
		Service:      service.New(service.Config{Store: etcd.NewStore(cli, "default"), Warehouse: wh, Log: testenv.DiscardLogger()}),
		Auth:         authn,
		Log:          testenv.DiscardLogger(),
		TableConfig:  map[string]string{"s3.endpoint": "http://s3.local"},
		VendedConfig: map[string]string{"s3.access-key-id": "AK", "s3.secret-access-key": "SK"},
		MaxBodyBytes: 64 << 10,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &api{Server: srv, h: h}
}

func anonymousRW() auth.Config { return auth.Config{Anonymous: &auth.Principal{Name: "anonymous"}} }

type reply struct {
	status int
	body   map[string]any
	raw    string
	header http.Header
}

func (a *api) do(t *testing.T, method, path, body string, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, a.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, raw: string(raw), header: resp.Header}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, path, raw)
		}
	}
	return r
}

// wantError checks the ErrorModel wrapper, its status and exception type.
func wantError(t *testing.T, r reply, status int, typ string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	e, ok := r.body["error"].(map[string]any)
	if !ok {
		t.Fatalf("no ErrorModel wrapper: %s", r.raw)
	}
	if e["type"] != typ || e["code"] != float64(status) || e["message"] == "" {
		t.Fatalf("error = %v, want type %s code %d and a message", e, typ, status)
	}
}

const schema = `{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"id","type":"long","required":true}]}`

func TestErrorModel(t *testing.T) {
	a := newAPI(t, anonymousRW())
	wantError(t, a.do(t, "GET", "/v1/namespaces/nope", ""), 404, "NoSuchNamespaceException")
	if r := a.do(t, "POST", "/v1/namespaces", `{"namespace":["db"]}`); r.status != 200 {
		t.Fatal(r.raw)
	}
	wantError(t, a.do(t, "POST", "/v1/namespaces", `{"namespace":["db"]}`), 409, "AlreadyExistsException")
	wantError(t, a.do(t, "GET", "/v1/namespaces/db/tables/nope", ""), 404, "NoSuchTableException")
	wantError(t, a.do(t, "GET", "/v1/namespaces/nope/tables/t", ""), 404, "NoSuchTableException") // as the reference catalog answers
	wantError(t, a.do(t, "POST", "/v1/namespaces", `{"namespace":`), 400, "BadRequestException")
	// ["a.b"] is the nested a.b, as ClickHouse sends it (docs/clients.md); its parent a does not exist.
	wantError(t, a.do(t, "POST", "/v1/namespaces", `{"namespace":["a.b"]}`), 404, "NoSuchNamespaceException")
	wantError(t, a.do(t, "POST", "/v1/namespaces", `{"namespace":["a..b"]}`), 400, "BadRequestException")
	wantError(t, a.do(t, "POST", "/v1/namespaces", `{"namespace":["a","b.c"]}`), 400, "BadRequestException")
	wantError(t, a.do(t, "POST", "/v1/namespaces", `{"namespace":["a/b"]}`), 400, "BadRequestException")
	wantError(t, a.do(t, "GET", "/v1/namespaces?pageSize=0", ""), 400, "BadRequestException")
	wantError(t, a.do(t, "GET", "/v1/no/such/endpoint", ""), 404, "NotFoundException")

	if r := a.do(t, "POST", "/v1/namespaces/db/tables", `{"name":"t-1","schema":`+schema+`}`); r.status != 200 {
		t.Fatalf("create table with a hyphen: %s", r.raw)
	}
	wantError(t, a.do(t, "POST", "/v1/namespaces/db/tables", `{"name":"t-1","schema":`+schema+`}`), 409, "AlreadyExistsException")
	wantError(t, a.do(t, "DELETE", "/v1/namespaces/db", ""), 409, "NamespaceNotEmptyException")
	wantError(t, a.do(t, "POST", "/v1/namespaces/db/tables/t-1", `{"requirements":[],"updates":[{"action":"no-such-update"}]}`), 400, "BadRequestException")
	wantError(t, a.do(t, "POST", "/v1/namespaces/db/tables/t-1", `{"requirements":[{"type":"assert-nothing"}],"updates":[]}`), 400, "BadRequestException")
	wantError(t, a.do(t, "POST", "/v1/namespaces/db/tables/t-1",
		`{"requirements":[{"type":"assert-table-uuid","uuid":"00000000-0000-0000-0000-000000000001"}],"updates":[{"action":"set-properties","updates":{"a":"b"}}]}`),
		409, "CommitFailedException")
	wantError(t, a.do(t, "POST", "/v1/namespaces/db/properties", `{"removals":["a"],"updates":{"a":"1"}}`), 422, "UnprocessableEntityException")
	wantError(t, a.do(t, "POST", "/v1/namespaces", `{"namespace":["big"],"properties":{"x":"`+strings.Repeat("x", 70<<10)+`"}}`), 413, "RequestEntityTooLargeException")
}

func TestPanicIsAnErrorModelAndServingGoesOn(t *testing.T) {
	a := newAPI(t, anonymousRW())
	a.h.HandleForTest("GET /v1/boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	wantError(t, a.do(t, "GET", "/v1/boom", ""), 500, "InternalServerError")
	if r := a.do(t, "GET", "/v1/config", ""); r.status != 200 {
		t.Fatalf("after a panic: %d %s", r.status, r.raw)
	}
}

func TestStatusCodesAndShapes(t *testing.T) {
	a := newAPI(t, anonymousRW())
	a.do(t, "POST", "/v1/namespaces", `{"namespace":["db"]}`)
	if r := a.do(t, "HEAD", "/v1/namespaces/db", ""); r.status != 204 {
		t.Errorf("HEAD namespace: %d", r.status)
	}
	if r := a.do(t, "HEAD", "/v1/namespaces/none", ""); r.status != 404 {
		t.Errorf("HEAD missing namespace: %d", r.status)
	}
	r := a.do(t, "POST", "/v1/namespaces/db/properties", `{}`)
	if r.raw != `{"missing":[],"removed":[],"updated":[]}` {
		t.Errorf("empty properties update = %s; arrays must never be null", r.raw)
	}
	r = a.do(t, "POST", "/v1/namespaces/db/properties", `{"removals":["gone"],"updates":{"k":"v"}}`)
	if r.raw != `{"missing":["gone"],"removed":[],"updated":["k"]}` {
		t.Errorf("properties update = %s", r.raw)
	}
	r = a.do(t, "POST", "/v1/namespaces/db/tables", `{"name":"t","schema":`+schema+`}`)
	if r.status != 200 || r.body["config"].(map[string]any)["s3.endpoint"] != "http://s3.local" {
		t.Fatalf("create: %s", r.raw)
	}
	if _, vended := r.body["config"].(map[string]any)["s3.access-key-id"]; vended {
		t.Error("static keys returned without a vended-credentials request")
	}
	loc := r.body["metadata"].(map[string]any)["location"]
	if !strings.HasSuffix(loc.(string), "/wh/db/t") {
		t.Errorf("default location %v, want <warehouse>/db/t", loc)
	}
	r = a.do(t, "GET", "/v1/namespaces/db/tables/t", "", "X-Iceberg-Access-Delegation", "vended-credentials")
	if c := r.body["config"].(map[string]any); c["s3.access-key-id"] != "AK" || c["s3.secret-access-key"] != "SK" {
		t.Errorf("vended config = %v", c)
	}
	if r := a.do(t, "HEAD", "/v1/namespaces/db/tables/t", ""); r.status != 204 {
		t.Errorf("HEAD table: %d", r.status)
	}
	if r := a.do(t, "POST", "/v1/namespaces/db/tables/t/metrics", `{"report-type":"scan-report"}`); r.status != 204 {
		t.Errorf("metrics: %d", r.status)
	}
	if r := a.do(t, "POST", "/v1/tables/rename", `{"source":{"namespace":["db"],"name":"t"},"destination":{"namespace":["db"],"name":"u"}}`); r.status != 204 {
		t.Errorf("rename: %d %s", r.status, r.raw)
	}
	wantError(t, a.do(t, "POST", "/v1/tables/rename", `{"source":{"namespace":["db"],"name":"u"},"destination":{"namespace":["nope"],"name":"u"}}`), 404, "NoSuchNamespaceException")
	if r := a.do(t, "DELETE", "/v1/namespaces/db/tables/u", ""); r.status != 204 {
		t.Errorf("drop: %d", r.status)
	}
	if r := a.do(t, "DELETE", "/v1/namespaces/db", ""); r.status != 204 {
		t.Errorf("drop namespace: %d", r.status)
	}
}

// TestAdvertisedEndpointsAreServed checks that /v1/config names exactly the
// routes that answer: each advertised endpoint reaches a handler.
func TestAdvertisedEndpointsAreServed(t *testing.T) {
	a := newAPI(t, anonymousRW())
	r := a.do(t, "GET", "/v1/config?warehouse=anything", "")
	eps := r.body["endpoints"].([]any)
	if len(eps) < 16 {
		t.Fatalf("endpoints = %v", eps)
	}
	for _, e := range eps {
		method, tmpl, _ := strings.Cut(e.(string), " ")
		path := strings.NewReplacer("/{prefix}", "", "{namespace}", "ns", "{table}", "t").Replace(tmpl)
		got := a.do(t, method, path, "{}")
		if got.status == 404 && strings.Contains(got.raw, "no such endpoint") {
			t.Errorf("advertised %s is not routed", e)
		}
	}
}

func TestAuthentication(t *testing.T) {
	a := newAPI(t, auth.Config{Tokens: []auth.Token{{Name: "rw", Value: "secret-rw"}, {Name: "ro", Value: "secret-ro", ReadOnly: true}}})
	wantError(t, a.do(t, "GET", "/v1/config", ""), 401, "NotAuthorizedException")
	wantError(t, a.do(t, "GET", "/v1/config", "", "Authorization", "Bearer wrong"), 401, "NotAuthorizedException")
	if r := a.do(t, "POST", "/v1/namespaces", `{"namespace":["db"]}`, "Authorization", "Bearer secret-rw"); r.status != 200 {
		t.Fatalf("read-write token: %s", r.raw)
	}
	if r := a.do(t, "GET", "/v1/namespaces/db", "", "Authorization", "Bearer secret-ro"); r.status != 200 {
		t.Fatalf("read-only GET: %s", r.raw)
	}
	if r := a.do(t, "HEAD", "/v1/namespaces/db", "", "Authorization", "Bearer secret-ro"); r.status != 204 {
		t.Fatalf("read-only HEAD: %d", r.status)
	}
	wantError(t, a.do(t, "POST", "/v1/namespaces", `{"namespace":["x"]}`, "Authorization", "Bearer secret-ro"), 403, "ForbiddenException")
	wantError(t, a.do(t, "DELETE", "/v1/namespaces/db", "", "Authorization", "Bearer secret-ro"), 403, "ForbiddenException")

	ro := newAPI(t, auth.Config{Anonymous: &auth.Principal{Name: "anonymous", ReadOnly: true}})
	if r := ro.do(t, "GET", "/v1/namespaces", ""); r.status != 200 {
		t.Fatalf("anonymous read: %s", r.raw)
	}
	wantError(t, ro.do(t, "POST", "/v1/namespaces", `{"namespace":["x"]}`), 403, "ForbiddenException")

	if _, err := auth.New(auth.Config{}); err == nil || !strings.Contains(err.Error(), "anonymousAccess") {
		t.Fatalf("no tokens and no anonymous access must be refused with a reason, got %v", err)
	}
}
