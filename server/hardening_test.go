package server_test

import (
	"bufio"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var hardeningKey = []byte("0123456789abcdef0123456789abcdef")

// hardeningServer starts a server with read-write and read-only tokens, an
// OAuth client, a 2 KiB body limit and extra config, and creates namespace
// "base".
func hardeningServer(t *testing.T, extra string) (string, *lockedBuffer) {
	base, logs := startWithLog(t, extra+`
maxRequestBodyBytes: 2048
bearerTokens:
  - {name: rw, value: rw-token}
  - {name: ro, value: ro-token, accessConfig: {readOnly: true}}
oauth:
  signingKey: `+base64.StdEncoding.EncodeToString(hardeningKey)+`
  clients:
    - {id: spark, secretHash: "`+secretHash("spark-secret")+`"}
`)
	if st, b := call(t, "POST", base+"/v1/namespaces", "rw-token", map[string]any{"namespace": []string{"base"}}); st != 200 {
		t.Fatalf("setup: %d %v", st, b)
	}
	return base, logs
}

// namespacesUnchanged checks that only the setup's namespace exists.
func namespacesUnchanged(t *testing.T, base string) {
	t.Helper()
	st, b := call(t, "GET", base+"/v1/namespaces", "rw-token", nil)
	if got := b["namespaces"].([]any); st != 200 || len(got) != 1 {
		t.Fatalf("namespaces after refused requests: %d %v", st, b)
	}
	st, b = call(t, "GET", base+"/v1/namespaces/base/tables", "rw-token", nil)
	if st != 200 || len(b["identifiers"].([]any)) != 0 {
		t.Fatalf("tables after refused requests: %d %v", st, b)
	}
}

func signed(t *testing.T, key []byte, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHardeningTokens(t *testing.T) {
	base, logs := hardeningServer(t, "")
	now := time.Now()
	good := jwt.MapClaims{"iss": "ice-rest-catalog", "aud": "ice-rest-catalog:default", "sub": "spark", "exp": now.Add(time.Hour).Unix()}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range good {
			c[kk] = vv
		}
		c[k] = v
		return c
	}
	if st, b := call(t, "GET", base+"/v1/namespaces", signed(t, hardeningKey, good), nil); st != 200 {
		t.Fatalf("control: a well-formed token is refused: %d %v", st, b)
	}
	for name, tok := range map[string]string{
		"garbage":         "not-a-token",
		"malformed jwt":   "a.b.c",
		"other key":       signed(t, []byte("another key, long enough for HS256!"), good),
		"expired":         signed(t, hardeningKey, with("exp", now.Add(-time.Hour).Unix())),
		"wrong audience":  signed(t, hardeningKey, with("aud", "ice-rest-catalog:other")),
		"unknown issuer":  signed(t, hardeningKey, with("iss", "https://elsewhere")),
		"removed client":  signed(t, hardeningKey, with("sub", "gone")),
		"no expiry":       signed(t, hardeningKey, with("exp", nil)),
		"not yet valid":   signed(t, hardeningKey, with("nbf", now.Add(time.Hour).Unix())),
		"basic auth sent": "",
	} {
		req, _ := http.NewRequest("POST", base+"/v1/namespaces", strings.NewReader(`{"namespace":["evil"]}`))
		req.Header.Set("Content-Type", "application/json")
		if tok == "" {
			req.SetBasicAuth("rw", "rw-token")
		} else {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(string(body), `"NotAuthorizedException"`) || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
	refused := 0
	for _, l := range logs.auditLines() {
		if l["outcome"] == "unauthenticated" && l["operation"] == "POST /v1/namespaces" {
			refused++
		}
	}
	if refused != 10 {
		t.Errorf("%d audit lines for the 10 refused writes", refused)
	}
	namespacesUnchanged(t, base)
}

func TestHardeningReadOnlyWrites(t *testing.T) {
	base, _ := hardeningServer(t, "")
	ns := base + "/v1/namespaces"
	for _, c := range []struct{ method, url, body string }{
		{"POST", ns, `{"namespace":["x"]}`},
		{"POST", ns + "/base/tables", `{"name":"t","schema":{"type":"struct","fields":[]}}`},
		{"POST", ns + "/base/properties", `{"updates":{"a":"b"}}`},
		{"DELETE", ns + "/base", ""},
		{"POST", base + "/v1/tables/rename", `{"source":{"namespace":["base"],"name":"a"},"destination":{"namespace":["base"],"name":"b"}}`},
		{"POST", base + "/v1/transactions/commit", `{"table-changes":[{"identifier":{"namespace":["base"],"name":"a"},"requirements":[],"updates":[]}]}`},
	} {
		st, b := call(t, c.method, c.url, "ro-token", nilIfEmpty(c.body))
		wantError(t, "read-only "+c.method+" "+c.url, st, b, 403)
	}
	namespacesUnchanged(t, base)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestHardeningIdentifiers(t *testing.T) {
	base, _ := hardeningServer(t, "")
	table := `{"name":"t","schema":{"type":"struct","fields":[]}}`
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/namespaces/base/../evil/tables", table},
		{"POST", "/v1/namespaces/%2E%2E/tables", table},
		{"POST", "/v1/namespaces/base%2F..%2Fevil/tables", table},
		{"DELETE", "/v1/namespaces/base%2F..", ""},
		{"POST", "/v1/namespaces/ba%0Ase/tables", table},
		{"POST", "/v1/namespaces/base/tables", `{"name":"t\u0000x","schema":{"type":"struct","fields":[]}}`},
		{"POST", "/v1/namespaces/base/tables", `{"name":"../t","schema":{"type":"struct","fields":[]}}`},
		{"POST", "/v1/namespaces", `{"namespace":["line\nbreak"]}`},
		{"POST", "/v1/namespaces", `{"namespace":["esc\u001b[31m"]}`},
		{"POST", "/v1/namespaces", `{"namespace":[".."]}`},
		{"POST", "/v1/namespaces", `{"namespace":["base","a/b"]}`},
	} {
		req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawPath = "" // send the path as written
		req.URL.Opaque = c.path
		req.Header.Set("Authorization", "Bearer rw-token")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(body), `"code":400`) {
			t.Errorf("%s %s %s: %d %s", c.method, c.path, c.body, resp.StatusCode, body)
		}
	}
	namespacesUnchanged(t, base)
}

func TestHardeningOversizedBodies(t *testing.T) {
	base, _ := hardeningServer(t, "")
	big := strings.Repeat("x", 4096)
	for _, c := range []struct{ path, body string }{
		{"/v1/namespaces", `{"namespace":["big"],"properties":{"p":"` + big + `"}}`},
		{"/v1/namespaces/base/tables", `{"name":"t","schema":{"type":"struct","fields":[]},"properties":{"p":"` + big + `"}}`},
		{"/v1/tables/rename", `{"source":{"namespace":["base"],"name":"` + big + `"},"destination":{"namespace":["base"],"name":"b"}}`},
	} {
		st, b := call(t, "POST", base+c.path, "rw-token", c.body)
		wantError(t, "oversized "+c.path, st, b, 413)
	}
	resp, err := http.PostForm(base+"/v1/oauth/tokens", url.Values{"grant_type": {"client_credentials"}, "client_id": {"spark"}, "client_secret": {big}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("oversized token request: %d", resp.StatusCode)
	}
	namespacesUnchanged(t, base)
}

// A client that stops sending its headers is cut off by readHeaderTimeout
// (net/http closes the connection without an answer); one that stops
// sending its body is cut off by readTimeout and gets 408.
func TestHardeningSlowClients(t *testing.T) {
	// Generous enough that the setup's own requests never hit them on a
	// loaded machine; the test waits for the server, it does not time it.
	base, _ := hardeningServer(t, "readHeaderTimeout: 1s\nreadTimeout: 2s\n")
	addr := strings.TrimPrefix(base, "http://")

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST /v1/namespaces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer rw-token\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second)) // far beyond the server's 1s
	n, err := conn.Read(make([]byte, 512))
	var ne net.Error
	if n != 0 || err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("slow headers: read %d bytes, %v; want the server to close the connection", n, err)
	}

	conn2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	_, _ = io.WriteString(conn2, "POST /v1/namespaces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer rw-token\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"namespace\":[\"sl")
	_ = conn2.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn2), nil)
	if err != nil {
		t.Fatalf("slow body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), `"code":408`) {
		t.Fatalf("slow body: %d %s", resp.StatusCode, body)
	}

	// With an Idempotency-Key the body is read for the request's
	// fingerprint before the handler runs: a slow one is still a 408.
	conn3, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn3.Close()
	_, _ = io.WriteString(conn3, "POST /v1/namespaces/base/tables HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer rw-token\r\n"+
		"Idempotency-Key: 0190a4c5-7b1e-7c3a-9f00-4b1d2c3e4f50\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":\"sl")
	_ = conn3.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err = http.ReadResponse(bufio.NewReader(conn3), nil)
	if err != nil {
		t.Fatalf("slow keyed body: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), `"type":"RequestTimeoutException"`) {
		t.Fatalf("slow keyed body: %d %s", resp.StatusCode, body)
	}
	namespacesUnchanged(t, base)
}
