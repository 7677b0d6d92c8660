package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/server"
)

// syncBuffer is a log sink that a test reads while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func probe(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestShutdownDrainsInFlightRequests: after Shutdown begins, a slow request
// already running completes, /readyz answers 503, and the API refuses new
// connections; Shutdown returns once the slow request is done.
func TestShutdownDrainsInFlightRequests(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	slow := func(next http.Handler) http.Handler {
		// A test route in front of the real API: a request that runs for as
		// long as the test wants.
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/test/slow" {
				next.ServeHTTP(w, r)
				return
			}
			close(entered)
			<-release
			io.WriteString(w, "slow done")
		})
	}
	srv, err := server.Start(context.Background(), testenv.CatalogConfig(t), testenv.DiscardLogger(), server.WrapAPI(slow))
	if err != nil {
		t.Fatal(err)
	}
	api, dbg := "http://"+srv.Addr(), "http://"+srv.DebugAddr()
	testenv.WaitReady(t, dbg+"/readyz")

	type answer struct {
		code int
		body string
		err  error
	}
	slowDone := make(chan answer, 1)
	go func() {
		// A client of its own: the request must not share a connection with the probes.
		c := &http.Client{Transport: &http.Transport{}, Timeout: 60 * time.Second}
		resp, err := c.Get(api + "/test/slow")
		if err != nil {
			slowDone <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		slowDone <- answer{resp.StatusCode, string(b), err}
	}()
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("slow request never reached the server")
	}

	shutdownDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		shutdownDone <- srv.Shutdown(ctx)
	}()

	var readyBody string
	testenv.Eventually(t, 30*time.Second, "/readyz turns 503 while draining", func() bool {
		var code int
		code, readyBody = probe(dbg + "/readyz")
		return code == http.StatusServiceUnavailable
	})
	if !strings.Contains(readyBody, "draining") {
		t.Errorf("/readyz while draining says %q; want it to say draining", readyBody)
	}
	if code, _ := probe(dbg + "/livez"); code != http.StatusOK {
		t.Errorf("/livez while draining: %d, want 200", code)
	}
	testenv.Eventually(t, 30*time.Second, "the API refuses new connections while draining", func() bool {
		c, err := net.DialTimeout("tcp", srv.Addr(), time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	select {
	case err := <-shutdownDone:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	default:
	}

	close(release)
	a := <-slowDone
	if a.err != nil || a.code != http.StatusOK || a.body != "slow done" {
		t.Fatalf("in-flight request: code %d body %q err %v; want 200 \"slow done\"", a.code, a.body, a.err)
	}
	select {
	case err := <-shutdownDone:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown did not return after the last request finished")
	}
}

// TestShutdownCutsRequestsPastGracePeriod: a request still running when the
// grace period ends does not hold the server up.
func TestShutdownCutsRequestsPastGracePeriod(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	stuck := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
	}
	srv, err := server.Start(context.Background(), testenv.CatalogConfig(t), testenv.DiscardLogger(), server.WrapAPI(stuck))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		c := &http.Client{Transport: &http.Transport{}}
		if resp, err := c.Get("http://" + srv.Addr() + "/v1/config"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown past its grace period: %v, want context.DeadlineExceeded", err)
	}
}

// TestStartWaitsForLateEtcd: a server whose etcd is not up yet keeps
// waiting, logs what it waits for, answers /livez but not /readyz, and
// serves once etcd starts.
func TestStartWaitsForLateEtcd(t *testing.T) {
	etcdAddr, debugAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	cfg, err := config.Parse([]byte("addr: 127.0.0.1:0\ndebugAddr: "+debugAddr+
		"\nanonymousAccess: {enabled: true, accessConfig: {readOnly: false}}\n"+
		"uri: etcd:http://"+etcdAddr+"\nwarehouse: file://"+t.TempDir()+"\n"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	type started struct {
		srv *server.Server
		err error
	}
	done := make(chan started, 1)
	go func() {
		srv, err := server.Start(context.Background(), cfg, log)
		done <- started{srv, err}
	}()

	testenv.Eventually(t, 30*time.Second, "a log line saying start-up waits for etcd", func() bool {
		return strings.Contains(logs.String(), "waiting for etcd")
	})
	if !strings.Contains(logs.String(), etcdAddr) {
		t.Errorf("the wait log does not name the endpoint %s:\n%s", etcdAddr, logs)
	}
	if code, body := probe("http://" + debugAddr + "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "waiting for etcd at http://"+etcdAddr) {
		t.Errorf("/readyz while waiting for etcd: %d %q; want 503 naming the endpoint", code, body)
	}
	if code, _ := probe("http://" + debugAddr + "/livez"); code != http.StatusOK {
		t.Errorf("/livez while waiting for etcd: %d, want 200", code)
	}
	select {
	case s := <-done:
		t.Fatalf("Start returned before etcd was up: %v", s.err)
	default:
	}

	e, err := etcd.StartEmbedded(context.Background(), filepath.Join(t.TempDir(), "etcd"), etcdAddr, testenv.DiscardLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	var s started
	select {
	case s = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Start still waiting 60s after etcd came up")
	}
	if s.err != nil {
		t.Fatalf("Start: %v", s.err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.srv.Shutdown(ctx)
	})
	testenv.WaitReady(t, "http://"+debugAddr+"/readyz")
	if !strings.Contains(logs.String(), "etcd is reachable") {
		t.Errorf("no log line says etcd became reachable:\n%s", logs)
	}
	cat := testenv.Client(t, "http://"+s.srv.Addr())
	if err := cat.CreateNamespace(context.Background(), []string{"late"}, nil); err != nil {
		t.Fatalf("create a namespace once etcd is up: %v", err)
	}
}

// TestStartGivesUpWhenStopped: SIGTERM while waiting for etcd ends Start
// with an error that says what it was waiting for.
func TestStartGivesUpWhenStopped(t *testing.T) {
	etcdAddr := testenv.FreeAddr(t)
	cfg, err := config.Parse([]byte("addr: 127.0.0.1:0\ndebugAddr: 127.0.0.1:0\nanonymousAccess: {enabled: true}\nuri: etcd:http://"+etcdAddr+
		"\nwarehouse: file://"+t.TempDir()+"\n"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = server.Start(ctx, cfg, testenv.DiscardLogger())
	if err == nil || !strings.Contains(err.Error(), "waiting for etcd at http://"+etcdAddr) {
		t.Fatalf("Start stopped while waiting: %v; want an error naming the etcd it waited for", err)
	}
}
