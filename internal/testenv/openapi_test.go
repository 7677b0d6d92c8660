package testenv

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSpecValidatorCatches proves the validator is not vacuous: answers and
// requests that break the spec are recorded, conforming ones are not, and
// the client sees the handler's answer unchanged.
func TestSpecValidatorCatches(t *testing.T) {
	body := `{"defaults":{},"overrides":{}}`
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(body))
	})
	v := NewSpecValidator(t)
	srv := httptest.NewServer(v.Wrap(h))
	defer srv.Close()
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	if got := get("/v1/config"); got != body {
		t.Fatalf("client saw %q, want %q", got, body)
	}
	if n := len(v.Violations()); n != 0 {
		t.Fatalf("a conforming exchange recorded %v", v.Violations())
	}

	body = `{"defaults":1}` // overrides missing, defaults not an object
	get("/v1/config")
	if n := len(v.Violations()); n != 1 || !strings.Contains(v.Violations()[0], "response 200 (getConfig)") {
		t.Fatalf("a bad answer recorded %v, want one response violation", v.Violations())
	}

	get("/v1/namespaces?pageSize=0") // pageSize has minimum 1
	if n := len(v.Violations()); n != 2 || !strings.Contains(v.Violations()[1], "request (listNamespaces)") {
		t.Fatalf("a bad request recorded %v, want one request violation more", v.Violations())
	}

	get("/v1/not/in/the/spec")
	if got := v.Violations(); !strings.Contains(got[len(got)-1], "no operation in the spec") {
		t.Fatalf("an unknown path recorded %v", got)
	}
}
