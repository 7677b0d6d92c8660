package maintenance_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/maintenance"
)

// TestLeaderFailover runs two replicas' runners on one etcd: one leads and
// runs the jobs; when its session ends (as when it dies and its lease
// expires) the other takes over.
func TestLeaderFailover(t *testing.T) {
	e := testenv.StartEmbeddedEtcd(t)
	sched, err := maintenance.ParseSchedule("10ms")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })

	runners := make([]*maintenance.Runner, 2)
	runs := make([]atomic.Int64, 2)
	for i := range runners {
		cli, err := etcd.Connect(ctx, clientv3.Config{Endpoints: []string{e.Endpoint}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close() })
		runners[i] = maintenance.NewRunner(maintenance.RunnerConfig{
			Client: cli, Key: maintenance.ElectionKey("default"), Identity: []string{"a", "b"}[i],
			Schedule: sched, TTL: 2 * time.Second, Log: testenv.DiscardLogger(),
			Run: func(context.Context) error { runs[i].Add(1); return nil },
		})
		wg.Add(1)
		go func() { defer wg.Done(); runners[i].Run(ctx) }()
	}

	leader := -1
	testenv.Eventually(t, 30*time.Second, "a leader", func() bool {
		for i, r := range runners {
			if r.Leading() {
				leader = i
				return true
			}
		}
		return false
	})
	other := 1 - leader
	testenv.Eventually(t, 30*time.Second, "the leader's runs", func() bool { return runs[leader].Load() >= 3 })
	if runners[other].Leading() || runs[other].Load() != 0 {
		t.Fatalf("both replicas ran maintenance: runs %d and %d", runs[0].Load(), runs[1].Load())
	}

	if err := maintenance.CloseSession(runners[leader]); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "the other replica to take over", func() bool { return runners[other].Leading() })
	testenv.Eventually(t, 30*time.Second, "the new leader's runs", func() bool { return runs[other].Load() >= 3 })
	if runners[leader].Leading() {
		t.Fatal("the old leader still believes it leads")
	}
}

func TestParseSchedule(t *testing.T) {
	now := time.Date(2026, 1, 2, 10, 30, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"every day 00:00":  time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC),
		"every day 11:15":  time.Date(2026, 1, 2, 11, 15, 0, 0, time.UTC),
		"every 6 hours":    now.Add(6 * time.Hour),
		"every hour":       now.Add(time.Hour),
		"every 30 minutes": now.Add(30 * time.Minute),
		"every day":        now.Add(24 * time.Hour),
		"90m":              now.Add(90 * time.Minute),
	} {
		s, err := maintenance.ParseSchedule(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got := s.Next(now); !got.Equal(want) {
			t.Errorf("%q: next %v, want %v", in, got, want)
		}
	}
	for _, bad := range []string{"", "sometimes", "every 0 hours", "every fortnight", "every day 25:00", "-1h"} {
		if _, err := maintenance.ParseSchedule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
