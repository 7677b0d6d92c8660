package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// etcdReadyTimeout bounds how long a member or cluster may take to become
// healthy; generous because CI machines have two cores shared by everything.
const etcdReadyTimeout = 30 * time.Second

// EtcdCluster is a cluster of real etcd processes on loopback ports.
type EtcdCluster struct {
	Members []*EtcdMember
	Token   string // --initial-cluster-token, unique per cluster
}

// EtcdMember is one etcd process of an EtcdCluster.
type EtcdMember struct {
	Name      string
	ClientURL string // http://127.0.0.1:port
	PeerURL   string
	DataDir   string

	initialCluster string
	token          string
	proc           *Proc
}

// StartEtcdCluster starts n etcd members, each with its own data dir and
// free client and peer ports, and waits until every member reports healthy.
// The members are killed when the test ends.
func StartEtcdCluster(t testing.TB, n int) *EtcdCluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("testenv: etcd cluster needs at least one member, got %d", n)
	}
	bin := ToolPath(t, "etcd")
	// A random token keeps members of concurrently running clusters from
	// ever joining each other, even if ports get reused.
	c := &EtcdCluster{Token: "testenv-" + rand.Text()}
	var peers []string
	for i := 0; i < n; i++ {
		m := &EtcdMember{
			Name:      fmt.Sprintf("m%d", i),
			ClientURL: fmt.Sprintf("http://127.0.0.1:%d", FreePort(t)),
			PeerURL:   fmt.Sprintf("http://127.0.0.1:%d", FreePort(t)),
			DataDir:   filepath.Join(t.TempDir(), "etcd-data"),
			token:     c.Token,
		}
		c.Members = append(c.Members, m)
		peers = append(peers, m.Name+"="+m.PeerURL)
	}
	// Start all members before waiting: none can be healthy without quorum.
	for _, m := range c.Members {
		m.initialCluster = strings.Join(peers, ",")
		m.proc = StartProc(t, ProcSpec{Name: "etcd-" + m.Name, Path: bin, Args: m.args("new")})
	}
	c.WaitHealthy(t)
	return c
}

// args builds the etcd command line; state is "new" on the first start and
// "existing" when the member restarts on its data dir.
func (m *EtcdMember) args(state string) []string {
	return []string{
		"--name", m.Name,
		"--data-dir", m.DataDir,
		"--listen-client-urls", m.ClientURL,
		"--advertise-client-urls", m.ClientURL,
		"--listen-peer-urls", m.PeerURL,
		"--initial-advertise-peer-urls", m.PeerURL,
		"--initial-cluster", m.initialCluster,
		"--initial-cluster-state", state,
		"--initial-cluster-token", m.token,
		// SIGKILL keeps written data in the page cache, so skipping fsync
		// loses nothing a process-level test can observe, and makes writes
		// fast on slow CI disks.
		"--unsafe-no-fsync",
	}
}

// Endpoints returns the client URLs of all members.
func (c *EtcdCluster) Endpoints() []string {
	eps := make([]string, len(c.Members))
	for i, m := range c.Members {
		eps[i] = m.ClientURL
	}
	return eps
}

// Member returns member i.
func (c *EtcdCluster) Member(i int) *EtcdMember { return c.Members[i] }

// WaitHealthy waits until every running member reports healthy.
func (c *EtcdCluster) WaitHealthy(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), etcdReadyTimeout)
	defer cancel()
	for _, m := range c.Members {
		if !m.proc.Running() {
			continue
		}
		if err := m.waitHealthy(ctx); err != nil {
			t.Fatalf("testenv: %v\nlast output of %s:\n%s", err, m.Name, m.proc.LogTail())
		}
	}
}

// Leader returns the index of the current leader, waiting for an election
// if needed. A leader counts only when a majority of the cluster agrees on
// it, so a member that was paused and still believes it leads is ignored.
func (c *EtcdCluster) Leader(t testing.TB) int {
	t.Helper()
	deadline := time.Now().Add(etcdReadyTimeout)
	for {
		statuses := make([]*etcdStatus, len(c.Members))
		for i, m := range c.Members {
			if m.proc.Running() && !m.proc.Paused() {
				statuses[i], _ = m.status() // unreachable members just do not vote
			}
		}
		if i := majorityLeader(statuses, len(c.Members)); i >= 0 {
			return i
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: no etcd leader agreed on by a majority within %v", etcdReadyTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// majorityLeader returns the index of the member that calls itself leader
// and that more than half of n members agree on, or -1.
func majorityLeader(statuses []*etcdStatus, n int) int {
	for i, s := range statuses {
		if s == nil || s.Leader == "" || s.Leader == "0" || s.Leader != s.Header.MemberID {
			continue
		}
		votes := 0
		for _, o := range statuses {
			if o != nil && o.Leader == s.Leader {
				votes++
			}
		}
		if votes > n/2 {
			return i
		}
	}
	return -1
}

// Kill sends SIGKILL to the member and waits for it to exit.
func (m *EtcdMember) Kill() error { return m.proc.Kill() }

// Stop shuts the member down with SIGTERM (SIGKILL after 10s).
func (m *EtcdMember) Stop() error { return m.proc.Stop() }

// Pause freezes the member with SIGSTOP.
func (m *EtcdMember) Pause() error { return m.proc.Pause() }

// Resume continues a paused member.
func (m *EtcdMember) Resume() error { return m.proc.Resume() }

// Proc returns the member's process, e.g. for its Pid or log.
func (m *EtcdMember) Proc() *Proc { return m.proc }

// Restart stops the member if it runs, starts it again on its data dir with
// --initial-cluster-state existing, and waits until it reports healthy,
// which needs a quorum of the cluster to be running.
func (m *EtcdMember) Restart(t testing.TB) {
	t.Helper()
	m.RestartNoWait(t)
	ctx, cancel := context.WithTimeout(context.Background(), etcdReadyTimeout)
	defer cancel()
	if err := m.waitHealthy(ctx); err != nil {
		t.Fatalf("testenv: %v\nlast output of %s:\n%s", err, m.Name, m.proc.LogTail())
	}
}

// RestartNoWait is Restart without waiting for health, for restarting
// several members of a cluster that lost quorum; follow it with
// EtcdCluster.WaitHealthy.
func (m *EtcdMember) RestartNoWait(t testing.TB) {
	t.Helper()
	m.proc.RestartWith(t, m.args("existing"))
}

// waitHealthy polls GET /health until it reports {"health":"true"}.
func (m *EtcdMember) waitHealthy(ctx context.Context) error {
	var lastErr error
	for {
		if !m.proc.Running() {
			return fmt.Errorf("etcd member %s exited while waiting for health", m.Name)
		}
		lastErr = m.health(ctx)
		if lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("etcd member %s not healthy: %w (last error: %v)", m.Name, ctx.Err(), lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (m *EtcdMember) health(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.ClientURL+"/health", nil)
	if err != nil {
		return fmt.Errorf("build health request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("get health: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Health string `json:"health"`
		Reason string `json:"reason"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("decode health (HTTP %d): %w", resp.StatusCode, err)
	}
	if body.Health != "true" {
		return fmt.Errorf("health=%q reason=%q", body.Health, body.Reason)
	}
	return nil
}

// etcdStatus is the part of the gRPC gateway's maintenance status answer
// that Leader needs; the gateway encodes uint64 ids as JSON strings.
type etcdStatus struct {
	Header struct {
		MemberID string `json:"member_id"`
	} `json:"header"`
	Leader string `json:"leader"`
}

func (m *EtcdMember) status() (*etcdStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.ClientURL+"/v3/maintenance/status", bytes.NewReader([]byte("{}")))
	if err != nil {
		return nil, fmt.Errorf("build status request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("status of %s: %w", m.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status of %s: HTTP %d", m.Name, resp.StatusCode)
	}
	var s etcdStatus
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return nil, fmt.Errorf("decode status of %s: %w", m.Name, err)
	}
	return &s, nil
}
