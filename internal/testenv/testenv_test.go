package testenv

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestToolPathFindsBinaryInToolsBin(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "fake-tool")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvToolsBin, dir)
	if got := ToolPath(t, "fake-tool"); got != bin {
		t.Fatalf("ToolPath = %q, want %q", got, bin)
	}
}

func TestFreePortIsBindable(t *testing.T) {
	port := FreePort(t)
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("bind free port %d: %v", port, err)
	}
	l.Close()
}

// procState returns the state letter from /proc/<pid>/stat ("T" = stopped).
func procState(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatalf("read stat of %d: %v", pid, err)
	}
	// The command name in parentheses may contain spaces; the state follows it.
	rest := string(data[strings.LastIndexByte(string(data), ')')+2:])
	return rest[:1]
}

// countLines counts the lines equal to line; the log's start headers quote
// the command, so a substring count would also match them.
func countLines(log, line string) int {
	n := 0
	for _, l := range strings.Split(log, "\n") {
		if l == line {
			n++
		}
	}
	return n
}

func TestProcLifecycle(t *testing.T) {
	p := StartProc(t, ProcSpec{Name: "sleeper", Path: "/bin/sh", Args: []string{"-c", "echo sleeper up; exec sleep 60"}})
	pid := p.Pid()
	if pid == 0 || !p.Running() {
		t.Fatal("process not running after start")
	}
	// Output reaches the log file: wait for it before signalling, so the
	// shell is not stopped before it has printed.
	Eventually(t, 10*time.Second, "first start in the log", func() bool { return countLines(p.LogTail(), "sleeper up") == 1 })

	if err := p.Pause(); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 10*time.Second, "stopped state", func() bool { return procState(t, pid) == "T" })
	if err := p.Resume(); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 10*time.Second, "running state", func() bool { return procState(t, pid) != "T" })

	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if p.Running() || p.Pid() != 0 {
		t.Fatal("process still running after Kill")
	}

	p.Restart(t)
	if p.Pid() == 0 || p.Pid() == pid {
		t.Fatalf("restart gave pid %d (old %d)", p.Pid(), pid)
	}
	Eventually(t, 10*time.Second, "second start in the log", func() bool { return countLines(p.LogTail(), "sleeper up") == 2 })
	// Stop must also end a paused process: SIGTERM alone stays pending.
	if err := p.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if p.Running() {
		t.Fatal("process still running after Stop")
	}
}

func TestMajorityLeader(t *testing.T) {
	st := func(member, leader string) *etcdStatus {
		s := &etcdStatus{Leader: leader}
		s.Header.MemberID = member
		return s
	}
	tests := []struct {
		name     string
		statuses []*etcdStatus
		want     int
	}{
		{"agreed", []*etcdStatus{st("1", "2"), st("2", "2"), st("3", "2")}, 1},
		{"two of three", []*etcdStatus{nil, st("2", "3"), st("3", "3")}, 2},
		{"stale leader alone", []*etcdStatus{st("1", "1"), nil, nil}, -1},
		{"no leader", []*etcdStatus{st("1", "0"), st("2", "0"), st("3", "0")}, -1},
	}
	for _, tc := range tests {
		if got := majorityLeader(tc.statuses, 3); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}

func etcdClient(t *testing.T, endpoints ...string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("etcd client for %v: %v", endpoints, err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// putEventually retries a put, since right after a leader dies requests fail
// until the survivors elect a new one.
func putEventually(t *testing.T, cli *clientv3.Client, key, val string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := cli.Put(ctx, key, val)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("put %s: %v", key, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func getValue(t *testing.T, cli *clientv3.Client, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key) // linearizable: goes through the leader
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatalf("get %s: %d keys", key, len(resp.Kvs))
	}
	return string(resp.Kvs[0].Value)
}

func TestEtcdCluster(t *testing.T) {
	c := StartEtcdCluster(t, 3)
	if got := len(c.Endpoints()); got != 3 {
		t.Fatalf("Endpoints() has %d entries", got)
	}

	putEventually(t, etcdClient(t, c.Member(0).ClientURL), "k1", "v1")
	if got := getValue(t, etcdClient(t, c.Member(1).ClientURL), "k1"); got != "v1" {
		t.Fatalf("k1 via member 1 = %q", got)
	}

	leader := c.Leader(t)
	if err := c.Member(leader).Kill(); err != nil {
		t.Fatal(err)
	}
	var survivors []string
	for i, m := range c.Members {
		if i != leader {
			survivors = append(survivors, m.ClientURL)
		}
	}
	putEventually(t, etcdClient(t, survivors...), "k2", "v2")
	for _, ep := range survivors {
		if got := getValue(t, etcdClient(t, ep), "k2"); got != "v2" {
			t.Fatalf("k2 via %s = %q", ep, got)
		}
	}
	if newLeader := c.Leader(t); newLeader == leader {
		t.Fatalf("killed member %d still reported as leader", leader)
	}

	// The restarted member catches up on the write it missed.
	c.Member(leader).Restart(t)
	if got := getValue(t, etcdClient(t, c.Member(leader).ClientURL), "k2"); got != "v2" {
		t.Fatalf("k2 via restarted member = %q", got)
	}

	// A paused follower does not block writes; after Resume it is healthy.
	leader = c.Leader(t)
	follower := (leader + 1) % 3
	if err := c.Member(follower).Pause(); err != nil {
		t.Fatal(err)
	}
	putEventually(t, etcdClient(t, c.Member(leader).ClientURL), "k3", "v3")
	if err := c.Member(follower).Resume(); err != nil {
		t.Fatal(err)
	}
	c.WaitHealthy(t)
	if got := getValue(t, etcdClient(t, c.Member(follower).ClientURL), "k3"); got != "v3" {
		t.Fatalf("k3 via resumed member = %q", got)
	}
}

func s3Do(t *testing.T, s *S3Server, method, path string, body []byte) (int, string) {
	t.Helper()
	req, err := s.NewRequest(context.Background(), method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return doRequest(t, req)
}

func doRequest(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s %s: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, string(data)
}

func TestS3Server(t *testing.T) {
	s := StartS3(t)
	s.CreateBucket(t, "warehouse")
	s.CreateBucket(t, "warehouse") // idempotent for the owner

	// The key has characters that SigV4 must escape, to exercise the signer.
	const key = "ns/table data/v1+meta=1.json"
	const payload = `{"format-version":2}`
	objPath := "/warehouse/" + key
	if code, body := s3Do(t, s, http.MethodPut, objPath, []byte(payload)); code != http.StatusOK {
		t.Fatalf("PUT object: HTTP %d: %s", code, body)
	}
	if code, body := s3Do(t, s, http.MethodGet, objPath, nil); code != http.StatusOK || body != payload {
		t.Fatalf("GET object: HTTP %d: %q", code, body)
	}
	code, body := s3Do(t, s, http.MethodGet, "/warehouse?list-type=2&prefix=ns/", nil)
	if code != http.StatusOK || !strings.Contains(body, "<Key>"+key+"</Key>") {
		t.Fatalf("list objects: HTTP %d: %s", code, body)
	}

	// Credentials are really checked: an unsigned request is refused.
	req, err := http.NewRequest(http.MethodGet, s.Endpoint+"/warehouse/ns/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := doRequest(t, req); code != http.StatusForbidden {
		t.Fatalf("unsigned GET: HTTP %d, want 403", code)
	}

	// The posix backend stores the object as a plain file under Root.
	onDisk, err := os.ReadFile(filepath.Join(s.Root, "warehouse", key))
	if err != nil || string(onDisk) != payload {
		t.Fatalf("object file: %q, %v", onDisk, err)
	}

	s.Restart(t)
	if code, body := s3Do(t, s, http.MethodGet, objPath, nil); code != http.StatusOK || body != payload {
		t.Fatalf("GET after restart: HTTP %d: %q", code, body)
	}
}
