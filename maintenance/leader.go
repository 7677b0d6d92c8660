package maintenance

import (
	"context"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ice-rest-catalog/ice/etcd"
)

// ElectionKey is the etcd prefix of the maintenance election of the catalog
// named name; its own prefix, apart from the n/, t/ and v/ entries.
func ElectionKey(name string) string {
	if name == "" || name == "default" {
		return "maintenance/leader"
	}
	return name + "/maintenance/leader"
}

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	Client   *clientv3.Client
	Key      string // ElectionKey(catalog name)
	Identity string // what the leader key holds; default hostname:pid
	Schedule Schedule
	// TTL is the lease of the leader's session: a leader that dies loses
	// the election this long after its last keep-alive. Default 15s.
	TTL time.Duration
	// Run is one maintenance run, normally Jobs.RunOnce.
	Run func(ctx context.Context) error
	Log *slog.Logger
	// Metrics, when set, receives the leader gauge.
	Metrics *Metrics
}

// Runner runs maintenance on the schedule, only while this replica holds
// the etcd election (an etcd.Election). Every replica runs one; one leads
// at a time.
type Runner struct {
	cfg      RunnerConfig
	election *etcd.Election
}

// NewRunner returns a Runner; Run starts it.
func NewRunner(cfg RunnerConfig) *Runner {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	ec := etcd.ElectionConfig{Client: cfg.Client, Key: cfg.Key, Identity: cfg.Identity, TTL: cfg.TTL,
		Role: "maintenance", Log: cfg.Log}
	if m := cfg.Metrics; m != nil {
		ec.OnLeading = func(v bool) {
			if v {
				m.leader.Set(1)
			} else {
				m.leader.Set(0)
			}
		}
	}
	return &Runner{cfg: cfg, election: etcd.NewElection(ec)}
}

// Leading reports whether this runner holds the election now.
func (r *Runner) Leading() bool { return r.election.Leading() }

// Run campaigns, runs maintenance on the schedule while leading, and
// campaigns again when its session is lost; it returns when ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	return r.election.Run(ctx, r.lead)
}

// lead runs maintenance on the schedule until leadership is lost. Jobs
// stop then (their context ends), so two replicas never run at once for
// longer than it takes the old leader to notice its lease is gone.
func (r *Runner) lead(ctx context.Context) {
	for {
		next := r.cfg.Schedule.Next(time.Now())
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		start := time.Now()
		if err := r.cfg.Run(ctx); err != nil {
			r.cfg.Log.ErrorContext(ctx, "maintenance run failed", "err", err)
		} else {
			r.cfg.Log.InfoContext(ctx, "maintenance run done", "took", time.Since(start).Round(time.Millisecond))
		}
	}
}

// closeSession ends the current session as a crash would.
func (r *Runner) closeSession() error { return r.election.CloseSession() }
