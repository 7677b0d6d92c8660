package main_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// build builds the binary once per test run, into a temporary directory
// that TestMain removes. -buildvcs=auto overrides a GOFLAGS=-buildvcs=false,
// so --version can show the commit.
func build(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		bin := filepath.Join(built.dir, "ice-rest-catalog")
		out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("build: %v\n%s", err, out)
		}
		built.bin = bin
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ice-rest-catalog-bin")
	if err != nil {
		panic(err)
	}
	built.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func start(t *testing.T, bin, dir string, env ...string) *exec.Cmd {
	t.Helper()
	return startArgs(t, bin, dir, nil, env...)
}

func startArgs(t *testing.T, bin, dir string, args []string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	return cmd
}

func stop(t *testing.T, cmd *exec.Cmd) time.Duration {
	t.Helper()
	begin := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("still running 15s after SIGTERM")
	}
	return time.Since(begin)
}

func do(t *testing.T, method, url, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSIGTERMStopsAndFreesPorts runs the binary on a config from the
// environment, sends SIGTERM and checks it exits in time and frees its ports.
func TestSIGTERMStopsAndFreesPorts(t *testing.T) {
	bin := build(t)
	addr, dbg := testenv.FreeAddr(t), testenv.FreeAddr(t)
	yaml := "addr: " + addr + "\ndebugAddr: " + dbg + "\nanonymousAccess: {enabled: true}\ndataDir: " + t.TempDir() + "\n"
	cmd := start(t, bin, t.TempDir(), "ICE_REST_CATALOG_CONFIG_YAML="+yaml)
	testenv.WaitReady(t, "http://"+dbg+"/readyz")
	if got := do(t, "GET", "http://"+addr+"/v1/config", ""); got != 200 {
		t.Fatalf("config: %d", got)
	}
	took := stop(t, cmd)
	for _, a := range []string{addr, dbg} {
		l, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatalf("port %s not freed after exit: %v", a, err)
		}
		l.Close()
	}
	t.Logf("stopped %s after SIGTERM", took)
}

// TestEmbeddedDefaultSurvivesRestart runs the binary with no config at all
// (the embedded default on 127.0.0.1:5000), writes, restarts and reads back.
func TestEmbeddedDefaultSurvivesRestart(t *testing.T) {
	for _, a := range []string{"127.0.0.1:5000", "127.0.0.1:5001"} {
		l, err := net.Listen("tcp", a)
		if err != nil {
			t.Skipf("the embedded default's port %s is taken on this machine: %v", a, err)
		}
		l.Close()
	}
	bin := build(t)
	dir := t.TempDir()
	noConfig := []string{"ICE_REST_CATALOG_CONFIG=", "ICE_REST_CATALOG_CONFIG_YAML="}
	cmd := start(t, bin, dir, noConfig...)
	testenv.WaitReady(t, "http://127.0.0.1:5001/readyz")
	if got := do(t, "POST", "http://127.0.0.1:5000/v1/namespaces", `{"namespace":["kept"]}`); got != 200 {
		t.Fatalf("create namespace: %d", got)
	}
	schema := `{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"id","type":"long","required":true}]}`
	if got := do(t, "POST", "http://127.0.0.1:5000/v1/namespaces/kept/tables", `{"name":"t","schema":`+schema+`}`); got != 200 {
		t.Fatalf("create table: %d", got)
	}
	stop(t, cmd)
	if _, err := os.Stat(filepath.Join(dir, "data", "etcd")); err != nil {
		t.Fatalf("no etcd data under ./data: %v", err)
	}
	cmd = start(t, bin, dir, noConfig...)
	testenv.WaitReady(t, "http://127.0.0.1:5001/readyz")
	if got := do(t, "GET", "http://127.0.0.1:5000/v1/namespaces/kept/tables/t", ""); got != 200 {
		t.Fatalf("table after restart: %d", got)
	}
	stop(t, cmd)
}
