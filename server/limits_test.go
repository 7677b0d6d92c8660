package server_test

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/server"
)

// Issue 14, findings 5 to 8: what a single client can make the server
// store, read, compute or hold, and the names it can create. Each test
// runs against a real server with its embedded etcd.

// limitsConfig has a read-write token, a read-only one and an OAuth client.
const limitsConfig = `
bearerTokens:
  - {name: rw, value: rw-token}
  - {name: ro, value: ro-token, accessConfig: {readOnly: true}}
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
