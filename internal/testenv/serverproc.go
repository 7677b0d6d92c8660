package testenv

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serverReadyTimeout bounds how long a server process may take to answer
// /readyz; generous for a loaded two-core CI machine.
const serverReadyTimeout = 30 * time.Second

// BuildServer builds the ice-rest-catalog binary into dir and returns its
// path. Tests that SIGKILL a replica need it as a real process; the build
// reuses Go's build cache, so only the link step runs on a warm cache.
func BuildServer(dir string) (string, error) {
	bin := filepath.Join(dir, "ice-rest-catalog")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/ice-rest-catalog/ice/cmd/ice-rest-catalog")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ice-rest-catalog: %w\n%s", err, out)
	}
	return bin, nil
}

// ServerProc is a catalog server running as its own process.
type ServerProc struct {
	URL   string // http://127.0.0.1:port of the API
	Debug string // http://127.0.0.1:port of /readyz and /metrics
	proc  *Proc
}

// StartServerProc runs bin with a config file holding configYAML plus addr
// and debugAddr lines on free loopback ports, and waits until /readyz
// answers 200. The ports stay the same across Restart.
func StartServerProc(t testing.TB, name, bin, configYAML string) *ServerProc {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	debug := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	text := "addr: " + addr + "\ndebugAddr: " + debug + "\n" + configYAML
	cfgPath := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		t.Fatalf("testenv: write config of %s: %v", name, err)
	}
	s := &ServerProc{URL: "http://" + addr, Debug: "http://" + debug}
	s.proc = StartProc(t, ProcSpec{Name: name, Path: bin, Args: []string{"--config", cfgPath}})
	s.WaitReady(t)
	return s
}

// Proc returns the server's process, to Kill, Pause or Restart it.
func (s *ServerProc) Proc() *Proc { return s.proc }

// WaitReady polls /readyz until it answers 200.
func (s *ServerProc) WaitReady(t testing.TB) {
	t.Helper()
	waitHealthy(t, s.proc, "server", s.Debug+"/readyz", serverReadyTimeout)
}

// RSSBytes returns the resident set size of process pid, from the VmRSS
// line of /proc/<pid>/status.
func RSSBytes(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read status of pid %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest) // "12345 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("pid %d: unexpected VmRSS line %q", pid, sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("pid %d: VmRSS %q: %w", pid, fields[0], err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read status of pid %d: %w", pid, err)
	}
	return 0, fmt.Errorf("pid %d: no VmRSS line (a zombie?)", pid)
}
