//go:build faults

package faults_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The timeline of every scenario: writers run for loadFor; the fault
// starts at faultAt and is removed faultFor later. RecoveryBound is the
// bound docs/reliability.md states: from the moment a fault is removed,
// every replica acknowledges a commit within it.
const (
	loadFor       = 20 * time.Second
	faultAt       = 5 * time.Second
	faultFor      = 6 * time.Second
	RecoveryBound = 30 * time.Second
	writerCount   = 6
	maxOpsEach    = 1000
)

type scenario struct {
	name      string
	withProxy bool
	// inject starts the fault and returns what removes it.
	inject func(t *testing.T, s *stack) (heal func())
}

var scenarios = []scenario{
	{name: "SIGKILL a replica", inject: func(t *testing.T, s *stack) func() {
		if err := s.replicas[0].Proc().Kill(); err != nil {
			t.Fatal(err)
		}
		return func() {
			s.replicas[0].Proc().Restart(t)
			s.replicas[0].WaitReady(t)
		}
	}},
	{name: "SIGKILL the etcd leader, restart it", inject: func(t *testing.T, s *stack) func() {
		m := s.etcd.Member(s.etcd.Leader(t))
		if err := m.Kill(); err != nil {
			t.Fatal(err)
		}
		return func() { m.Restart(t) }
	}},
	{name: "SIGSTOP an etcd follower, SIGCONT", inject: func(t *testing.T, s *stack) func() {
		m := s.etcd.Member((s.etcd.Leader(t) + 1) % 3)
		if err := m.Pause(); err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := m.Resume(); err != nil {
				t.Fatal(err)
			}
		}
	}},
	{name: "restart the S3 server", inject: func(t *testing.T, s *stack) func() {
		if err := s.s3.Proc().Kill(); err != nil {
			t.Fatal(err)
		}
		return func() { s.s3.Restart(t) }
	}},
	{name: "cut a replica off from etcd", withProxy: true, inject: func(t *testing.T, s *stack) func() {
		for _, p := range s.proxies {
			p.Cut()
		}
		return func() {
			for _, p := range s.proxies {
				p.Restore()
			}
		}
	}},
}

// TestFaults runs each scenario on a fresh stack and prints one row of the
// table in docs/reliability.md per scenario.
func TestFaults(t *testing.T) {
	var rows []string
	for _, sc := range scenarios {
		t.Run(strings.ReplaceAll(sc.name, " ", "_"), func(t *testing.T) {
			rows = append(rows, runScenario(t, sc))
		})
	}
	t.Logf("measured rows for docs/reliability.md:\n| Scenario | Commits | Acknowledged | Lost | Duplicated | Unknown (present/absent) | Longest stall | Recovery | Events expected / delivered / duplicated / missed |\n|---|---|---|---|---|---|---|---|---|\n%s",
		strings.Join(rows, "\n"))
}

func runScenario(t *testing.T, sc scenario) string {
	s := startStack(t, sc.withProxy, "")
	ids := s.createTables("load", 2)
	probes := s.createTables("probe", len(s.replicas))

	ctx, cancel := context.WithTimeout(context.Background(), loadFor)
	defer cancel()
	loadStart := s.hist.Now()
	wg := s.writers(ctx, writerCount, maxOpsEach, ids)

	time.Sleep(faultAt)
	heal := sc.inject(t, s)
	time.Sleep(faultFor)
	healed := time.Now()
	heal()
	recovered, err := s.recovery(healed, RecoveryBound, probes)
	if err != nil {
		t.Errorf("catalog did not serve again within %v of the fault's end: %v", RecoveryBound, err)
	}
	<-ctx.Done()
	loadEnd := s.hist.Now()
	wg.Wait()

	r := s.check(append(ids, probes...))
	ev := s.checkEvents(s.feed, s.chainLens)
	stall := maxStall(s.hist.Ops(), loadEnd)
	t.Logf("%s: %v; load %v, longest stall %v, recovery %v", sc.name, r, loadEnd-loadStart, stall, recovered)
	return fmt.Sprintf("| %s | %d | %d | %d | %d | %d (%d/%d) | %.1f s | %.1f s | %s |", sc.name, r.Commits, r.Acked,
		len(r.Lost), len(r.Duplicated), r.Unknown, r.UnknownPresent, r.UnknownAbsent, stall.Seconds(), recovered.Seconds(), ev)
}
