package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/server"
)

// apiLog records every API request a client makes (method, path, status
// and the start of the body), to assert what ClickHouse sends.
type apiLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *apiLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(r.Body, 1<<20))
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		sw := &statusWriter{ResponseWriter: w, code: 200}
		next.ServeHTTP(sw, r)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, fmt.Sprintf("%s %s %d %s [%s]", r.Method, r.URL.RequestURI(), sw.code, truncate(string(body), 600), r.UserAgent()))
	})
}

func (l *apiLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// count returns how many recorded requests start with prefix ("POST /v1/namespaces ").
func (l *apiLog) count(prefix string) int {
	n := 0
	for _, s := range l.all() {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	if code == 204 && os.Getenv("EXP204") != "" {
		w.ResponseWriter.Header().Set("Content-Length", "0")
		if os.Getenv("EXP204") == "200" {
			code = 200
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// startLoggedCatalog starts a catalog with cfg whose API requests are
// recorded; it is stopped when the test ends.
func startLoggedCatalog(t *testing.T, cfg *config.Config) (*testenv.Catalog, *apiLog) {
	t.Helper()
	l := &apiLog{}
	srv, err := server.Start(context.Background(), cfg, testenv.DiscardLogger(), server.WrapAPI(l.wrap))
	if err != nil {
		t.Fatalf("start catalog: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	c := &testenv.Catalog{URL: "http://" + srv.Addr(), Debug: "http://" + srv.DebugAddr(), Config: cfg, Server: srv}
	testenv.WaitReady(t, c.Debug+"/readyz")
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range l.all() {
				t.Log("api: " + s)
			}
		}
	})
	return c, l
}
