package testenv

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// NATSServer is a nats-server process with JetStream on, storing under
// t.TempDir(); it is killed when the test ends.
type NATSServer struct {
	URL  string
	proc *Proc
}

// StartNATS starts nats-server (built by scripts/install-tools.sh) on a
// free loopback port and waits for its monitoring endpoint to answer.
func StartNATS(t testing.TB) *NATSServer {
	t.Helper()
	bin := ToolPath(t, "nats-server")
	port, mon := FreePort(t), FreePort(t)
	args := []string{"-a", "127.0.0.1", "-p", fmt.Sprint(port), "-m", fmt.Sprint(mon),
		"-js", "-sd", filepath.Join(t.TempDir(), "jetstream")}
	p := StartProc(t, ProcSpec{Name: "nats-server", Path: bin, Args: args})
	waitHealthy(t, p, "nats-server", fmt.Sprintf("http://127.0.0.1:%d/healthz?js-enabled-only=true", mon), 30*time.Second)
	return &NATSServer{URL: fmt.Sprintf("nats://127.0.0.1:%d", port), proc: p}
}

// Proc is the server's process, for fault tests.
func (n *NATSServer) Proc() *Proc { return n.proc }
