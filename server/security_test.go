package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/server"
)

func secretHash(s string) string {
	d := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(d[:])
}

// lockedBuffer collects log output written from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// auditLines returns the decoded "audit" log lines.
func (l *lockedBuffer) auditLines() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(l.b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "audit" {
			out = append(out, m)
		}
	}
	return out
}

// startWithLog parses yaml (loopback listeners and a temp dataDir added)
// and starts a server whose JSON log goes to the returned buffer.
func startWithLog(t *testing.T, yaml string) (string, *lockedBuffer) {
	t.Helper()
	cfg := parseConfig(t, yaml)
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
	return "http://" + srv.Addr(), logs
}

func parseConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	text := "addr: 127.0.0.1:0\ndebugAddr: 127.0.0.1:0\ndataDir: " + t.TempDir() + "\n" + yaml
	cfg, err := config.Parse([]byte(text), func(string) string { return "" })
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	return cfg
}

// call sends a request and returns the status and the decoded JSON body.
func call(t *testing.T, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

// wantError checks an ErrorModel answer.
func wantError(t *testing.T, what string, status int, body map[string]any, want int) {
	t.Helper()
	e, _ := body["error"].(map[string]any)
	if status != want || e == nil || e["code"] != float64(want) {
		t.Errorf("%s: status %d body %v; want %d ErrorModel", what, status, body, want)
	}
}

const oauthClientsYAML = `
oauth:
  clients:
    - id: spark
      secretHash: "%s"
    - id: clickhouse
      secretHash: "%s"
      accessConfig: {readOnly: true}
`

func oauthYAML() string {
	return strings.Replace(strings.Replace(oauthClientsYAML, "%s", secretHash("spark-secret"), 1), "%s", secretHash("ch-secret"), 1)
}

// iceberg-go's REST client with credential "id:secret" (what Spark's
// `credential` does) gets a token from the catalog and uses it; ClickHouse's
// form of the request (parameters in the query, empty body) gets the same
// answer, and its read-only client cannot write.
func TestOAuthClientCredentials(t *testing.T) {
	cat := testenv.StartCatalog(t, parseConfig(t, oauthYAML()))
	ctx := context.Background()

	spark := testenv.Client(t, cat.URL, rest.WithCredential("spark:spark-secret"))
	if err := spark.CreateNamespace(ctx, table.Identifier{"lake"}, nil); err != nil {
		t.Fatalf("create namespace with an OAuth token: %v", err)
	}
	if _, err := rest.NewCatalog(ctx, "bad", cat.URL, rest.WithCredential("spark:wrong")); err == nil {
		t.Error("a wrong secret got a catalog")
	}

	q := url.Values{"grant_type": {"client_credentials"}, "scope": {"PRINCIPAL_ROLE:ALL"},
		"client_id": {"clickhouse"}, "client_secret": {"ch-secret"}}
	resp, err := http.Post(cat.URL+"/v1/oauth/tokens?"+q.Encode(), "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok["token_type"] != "bearer" || tok["scope"] != "PRINCIPAL_ROLE:ALL" ||
		tok["expires_in"] != float64(3600) || tok["access_token"] == "" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("ClickHouse-style token request: %d %v", resp.StatusCode, tok)
	}
	access := tok["access_token"].(string)
	if st, body := call(t, "GET", cat.URL+"/v1/namespaces", access, nil); st != 200 || len(body["namespaces"].([]any)) != 1 {
		t.Fatalf("list with the ClickHouse token: %d %v", st, body)
	}
	st, body := call(t, "POST", cat.URL+"/v1/namespaces", access, map[string]any{"namespace": []string{"x"}})
	wantError(t, "write by a read-only OAuth client", st, body, 403)

	resp, err = http.PostForm(cat.URL+"/v1/oauth/tokens", url.Values{"grant_type": {"client_credentials"}, "client_id": {"clickhouse"}, "client_secret": {"nope"}})
	if err != nil {
		t.Fatal(err)
	}
	var oe map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&oe)
	resp.Body.Close()
	if resp.StatusCode != 401 || oe["error"] != "invalid_client" {
		t.Errorf("wrong secret: %d %v", resp.StatusCode, oe)
	}
	resp, err = http.PostForm(cat.URL+"/v1/oauth/tokens", url.Values{"grant_type": {"password"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&oe)
	resp.Body.Close()
	if resp.StatusCode != 400 || oe["error"] != "unsupported_grant_type" {
		t.Errorf("password grant: %d %v", resp.StatusCode, oe)
	}
}

// With no signingKey in the config, replicas share the key through etcd: a
// token one replica issued is accepted by another.
func TestOAuthTokenValidOnEveryReplica(t *testing.T) {
	e := testenv.StartEmbeddedEtcd(t)
	var urls []string
	for range 2 {
		cfg := testenv.CatalogConfig(t, e.Endpoint)
		cfg.AnonymousAccess.Enabled = false
		cfg.OAuth = parseConfig(t, oauthYAML()).OAuth
		urls = append(urls, testenv.StartCatalog(t, cfg).URL)
	}
	resp, err := http.PostForm(urls[0]+"/v1/oauth/tokens", url.Values{"grant_type": {"client_credentials"}, "client_id": {"spark"}, "client_secret": {"spark-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	st, body := call(t, "POST", urls[1]+"/v1/namespaces", tok.AccessToken, map[string]any{"namespace": []string{"shared"}})
	if st != 200 {
		t.Fatalf("token of replica 0 at replica 1: %d %v", st, body)
	}
}

// Rules grant by namespace; a denial is a 403 ErrorModel that changes
// nothing, and every write leaves an audit line.
func TestAuthorizationRulesAndAudit(t *testing.T) {
	base, logs := startWithLog(t, `
bearerTokens:
  - {name: admin, value: admin-token}
  - {name: etl, value: etl-token}
  - {name: bi, value: bi-token}
authorization:
  rules:
    - {principals: ["token:admin"], access: admin}
    - {principals: ["token:etl"], namespaces: [sales], access: write}
    - {principals: ["token:bi", "token:etl"], namespaces: ["*"], access: read}
`)
	ns := base + "/v1/namespaces"
	if st, b := call(t, "POST", ns, "admin-token", map[string]any{"namespace": []string{"sales"}}); st != 200 {
		t.Fatalf("admin creates a top-level namespace: %d %v", st, b)
	}
	if st, b := call(t, "POST", ns, "etl-token", map[string]any{"namespace": []string{"sales", "eu"}}); st != 200 {
		t.Fatalf("etl creates sales.eu: %d %v", st, b)
	}
	st, b := call(t, "POST", ns, "etl-token", map[string]any{"namespace": []string{"hr"}})
	wantError(t, "etl creates a top-level namespace", st, b, 403)
	st, b = call(t, "POST", ns+"/sales/properties", "bi-token", map[string]any{"updates": map[string]string{"owner": "bi"}})
	wantError(t, "bi updates properties", st, b, 403)
	st, b = call(t, "DELETE", ns+"/sales%1Feu", "bi-token", nil)
	wantError(t, "bi drops sales.eu", st, b, 403)
	st, b = call(t, "POST", base+"/v1/tables/rename", "etl-token", map[string]any{
		"source": map[string]any{"namespace": []string{"sales"}, "name": "t"}, "destination": map[string]any{"namespace": []string{"hr"}, "name": "t"}})
	wantError(t, "etl renames out of its namespace", st, b, 403)

	if st, _ := call(t, "GET", ns+"/hr", "admin-token", nil); st != 404 {
		t.Errorf("denied create left namespace hr: %d", st)
	}
	if st, b := call(t, "GET", ns+"/sales", "bi-token", nil); st != 200 || len(b["properties"].(map[string]any)) != 0 {
		t.Errorf("denied property update changed sales: %d %v", st, b)
	}
	if st, _ := call(t, "GET", ns+"/sales%1Feu", "bi-token", nil); st != 200 {
		t.Errorf("denied drop removed sales.eu: %d", st)
	}

	want := []string{
		"token:admin createNamespace sales ok",
		"token:etl createNamespace sales.eu ok",
		"token:etl createNamespace hr denied",
		"token:bi updateNamespaceProperties sales denied",
		"token:bi dropNamespace sales.eu denied",
		"token:etl renameTable sales.t -> hr.t denied",
	}
	var got []string
	for _, l := range logs.auditLines() {
		got = append(got, strings.Join([]string{l["principal"].(string), l["operation"].(string), l["identifier"].(string), l["outcome"].(string)}, " "))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The Java server's OAuth refresh: token exchange of a live token, and the
// client secret sent as HTTP Basic credentials.
func TestOAuthTokenExchangeAndBasicAuth(t *testing.T) {
	base, _ := startWithLog(t, oauthYAML())
	req, _ := http.NewRequest("POST", base+"/v1/oauth/tokens", strings.NewReader("grant_type=client_credentials&scope=catalog"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("spark", "spark-secret")
	first := tokenOf(t, req)

	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {first},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "scope": {"catalog"}}
	req, _ = http.NewRequest("POST", base+"/v1/oauth/tokens", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+first) // as the Java client sends it
	second := tokenOf(t, req)
	if st, b := call(t, "POST", base+"/v1/namespaces", second, map[string]any{"namespace": []string{"refreshed"}}); st != 200 {
		t.Fatalf("exchanged token: %d %v", st, b)
	}
	form.Set("subject_token", "not-a-token")
	resp, err := http.PostForm(base+"/v1/oauth/tokens", form)
	if err != nil {
		t.Fatal(err)
	}
	var oe map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&oe)
	resp.Body.Close()
	if resp.StatusCode != 400 || oe["error"] != "invalid_grant" {
		t.Fatalf("exchange of garbage: %d %v", resp.StatusCode, oe)
	}
}

func tokenOf(t *testing.T, req *http.Request) string {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	s, _ := tok["access_token"].(string)
	if resp.StatusCode != 200 || s == "" || tok["token_type"] != "bearer" {
		t.Fatalf("token request: %d %v", resp.StatusCode, tok)
	}
	return s
}

// A Java ice-rest-catalog config (bearerTokens, anonymousAccess without
// accessConfig) behaves as it did: anonymous and read-only tokens read,
// only the read-write token writes.
func TestJavaAccessConfigUnchanged(t *testing.T) {
	base, _ := startWithLog(t, `
bearerTokens:
  - name: rw
    value: rw-token
  - value: unnamed-token
  - name: ro
    value: ro-token
    accessConfig:
      readOnly: true
anonymousAccess:
  enabled: true
`)
	ns := base + "/v1/namespaces"
	if st, b := call(t, "POST", ns, "rw-token", map[string]any{"namespace": []string{"a"}}); st != 200 {
		t.Fatalf("rw: %d %v", st, b)
	}
	if st, b := call(t, "POST", ns, "unnamed-token", map[string]any{"namespace": []string{"a", "b"}}); st != 200 {
		t.Fatalf("unnamed token: %d %v", st, b)
	}
	for _, tok := range []string{"ro-token", ""} {
		if st, _ := call(t, "GET", ns+"/a", tok, nil); st != 200 {
			t.Errorf("read with %q: %d", tok, st)
		}
		st, b := call(t, "POST", ns, tok, map[string]any{"namespace": []string{"c"}})
		wantError(t, "write with "+tok, st, b, 403)
	}
	st, b := call(t, "GET", ns, "wrong-token", nil)
	wantError(t, "wrong token with anonymous access on", st, b, 401)
}
