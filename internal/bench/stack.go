package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/server"
)

const bucket = "bench"

// stack is what one run measures: an etcd, an S3 server process, the
// catalog server, and the clients the baselines use.
type stack struct {
	etcdEndpoint string
	s3           *testenv.S3Server
	url          string // catalog API
	debugURL     string
	proc         *testenv.Proc // the server process; nil when in-process
	ready        time.Duration // from process start to /readyz 200
	etcd         *clientv3.Client
	http         *http.Client
}

// startStack starts the stack. With external, etcd is the pinned etcd binary
// as a single member and the server runs as a child process (this binary
// re-executed with -serve) so its RSS and start-up time are its own. Without,
// the server runs in-process on its embedded etcd, the zero-config default.
func startStack(ctx context.Context, e *env, external bool, serverEnv []string, cacheBytes int64) (*stack, error) {
	s := &stack{http: newHTTPClient()}
	s.s3 = testenv.StartS3(e)
	s.s3.CreateBucket(e, bucket)
	dir := e.TempDir()
	cfgText := serverConfig(s.s3, dir)
	if cacheBytes > 0 {
		cfgText += fmt.Sprintf("metadataCacheBytes: %d\n", cacheBytes)
	}
	if external {
		cluster := testenv.StartEtcdCluster(e, 1)
		s.etcdEndpoint = cluster.Members[0].ClientURL
		cfgText += "uri: etcd:" + s.etcdEndpoint + "\n"
		api, dbg := testenv.FreePort(e), testenv.FreePort(e)
		cfgText += fmt.Sprintf("addr: 127.0.0.1:%d\ndebugAddr: 127.0.0.1:%d\n", api, dbg)
		path := filepath.Join(dir, "server.yaml")
		if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
			return nil, fmt.Errorf("write server config: %w", err)
		}
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find own binary: %w", err)
		}
		s.url = fmt.Sprintf("http://127.0.0.1:%d", api)
		s.debugURL = fmt.Sprintf("http://127.0.0.1:%d", dbg)
		start := time.Now()
		s.proc = testenv.StartProc(e, testenv.ProcSpec{Name: "ice-rest-catalog", Path: self, Args: []string{"-serve", path}, Env: serverEnv})
		if err := s.waitReady(ctx, 30*time.Second); err != nil {
			return nil, fmt.Errorf("%w\n%s", err, s.proc.LogTail())
		}
		s.ready = time.Since(start)
	} else {
		cfgText += "addr: 127.0.0.1:0\ndebugAddr: 127.0.0.1:0\n"
		cfg, err := config.Parse([]byte(cfgText), func(string) string { return "" })
		if err != nil {
			return nil, fmt.Errorf("server config: %w", err)
		}
		start := time.Now()
		srv, err := server.Start(ctx, cfg, testenv.DiscardLogger())
		if err != nil {
			return nil, fmt.Errorf("start server: %w", err)
		}
		e.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		})
		s.url, s.debugURL, s.etcdEndpoint = "http://"+srv.Addr(), "http://"+srv.DebugAddr(), srv.EtcdEndpoint()
		if err := s.waitReady(ctx, 30*time.Second); err != nil {
			return nil, err
		}
		s.ready = time.Since(start)
	}
	var err error
	s.etcd, err = etcd.Connect(ctx, clientv3.Config{Endpoints: []string{s.etcdEndpoint}})
	if err != nil {
		return nil, err
	}
	e.Cleanup(func() { s.etcd.Close() })
	return s, nil
}

// serverConfig is the part of the server's config both modes share:
// anonymous read-write access and the warehouse in the S3 server's bucket.
func serverConfig(s3 *testenv.S3Server, dir string) string {
	return fmt.Sprintf(`anonymousAccess: {enabled: true, accessConfig: {readOnly: false}}
dataDir: %s
warehouse: s3://%s/wh
s3: {endpoint: %q, pathStyleAccess: true, accessKeyID: %q, secretAccessKey: %q, region: %q}
`, dir, bucket, s3.Endpoint, s3.AccessKey, s3.SecretKey, s3.Region)
}

func newHTTPClient() *http.Client {
	// Enough idle connections that 128 workers keep theirs alive: a new
	// TCP connection per request would measure the kernel, not the server.
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}}
}

// waitReady polls /readyz every 2 ms until it answers 200.
func (s *stack) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.debugURL+"/readyz", nil)
		if resp, err := s.http.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("server not ready after %v", limit)
}

// rss returns the server process's resident set and its peak, in bytes
// (this process's when the server runs in-process).
func (s *stack) rss() (cur, peak int64) {
	pid := os.Getpid()
	if s.proc != nil {
		pid = s.proc.Pid()
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			cur = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return cur, peak
}

// goMem is the server's Go heap figures from its /metrics, to tell live
// heap from memory the runtime has not returned yet.
func (s *stack) goMem(ctx context.Context) string {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.debugURL+"/metrics", nil)
	b, err := s.send(req, http.StatusOK)
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		for _, m := range []string{"go_memstats_heap_inuse_bytes ", "go_memstats_heap_alloc_bytes ", "go_memstats_sys_bytes ", "go_goroutines ", "go_memstats_stack_inuse_bytes "} {
			if strings.HasPrefix(line, m) {
				f := strings.Fields(line)
				v, _ := strconv.ParseFloat(f[1], 64)
				out = append(out, fmt.Sprintf("%s=%.1fMiB", strings.TrimPrefix(strings.TrimSuffix(m, " "), "go_memstats_"), v/(1<<20)))
				if m == "go_goroutines " {
					out[len(out)-1] = fmt.Sprintf("goroutines=%.0f", v)
				}
			}
		}
	}
	return strings.Join(out, " ")
}
