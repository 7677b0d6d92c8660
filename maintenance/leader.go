package maintenance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
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
// the etcd election. Every replica runs one; one leads at a time. If the
// leader dies its lease expires and a waiting replica's campaign succeeds.
type Runner struct {
	cfg RunnerConfig

	mu      sync.Mutex
	session *concurrency.Session
	leading bool
}

// NewRunner returns a Runner; Run starts it.
func NewRunner(cfg RunnerConfig) *Runner {
	if cfg.TTL <= 0 {
		cfg.TTL = 15 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Identity == "" {
		host, _ := os.Hostname()
		cfg.Identity = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	return &Runner{cfg: cfg}
}

// Leading reports whether this runner holds the election now.
func (r *Runner) Leading() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leading
}

// Run campaigns, runs maintenance on the schedule while leading, and
// campaigns again when its session is lost; it returns when ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		err := r.term(ctx)
		if ctx.Err() != nil {
			break
		}
		r.cfg.Log.WarnContext(ctx, "maintenance leadership lost or not obtained; campaigning again", "err", err)
		if !sleepCtx(ctx, time.Second) {
			break
		}
	}
	return nil
}

// term is one session: campaign, then lead until the session ends.
func (r *Runner) term(ctx context.Context) error {
	s, err := concurrency.NewSession(r.cfg.Client, concurrency.WithTTL(int((r.cfg.TTL+time.Second-1)/time.Second)), concurrency.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("etcd session: %w", err)
	}
	r.mu.Lock()
	r.session = s
	r.mu.Unlock()
	defer s.Close()

	e := concurrency.NewElection(s, r.cfg.Key)
	// The campaign ends when it is won, when ctx ends, or when the session
	// is lost (then it could never win with this lease).
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-s.Done():
			cancel()
		case <-cctx.Done():
		}
	}()
	err = e.Campaign(cctx, r.cfg.Identity)
	if err != nil {
		cancel()
		return fmt.Errorf("campaign: %w", err)
	}
	r.setLeading(true)
	defer r.setLeading(false)
	r.cfg.Log.InfoContext(ctx, "elected maintenance leader", "identity", r.cfg.Identity, "key", r.cfg.Key)

	// Jobs stop when leadership is lost, so two replicas never run at once
	// for longer than it takes the old leader to notice its lease is gone.
	defer cancel()
	for {
		next := r.cfg.Schedule.Next(time.Now())
		t := time.NewTimer(time.Until(next))
		select {
		case <-cctx.Done():
			t.Stop()
			resignCtx, rc := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_ = e.Resign(resignCtx)
			rc()
			return errors.New("session ended")
		case <-t.C:
		}
		start := time.Now()
		if err := r.cfg.Run(cctx); err != nil {
			r.cfg.Log.ErrorContext(ctx, "maintenance run failed", "err", err)
		} else {
			r.cfg.Log.InfoContext(ctx, "maintenance run done", "took", time.Since(start).Round(time.Millisecond))
		}
	}
}

func (r *Runner) setLeading(v bool) {
	r.mu.Lock()
	r.leading = v
	r.mu.Unlock()
	if r.cfg.Metrics != nil {
		if v {
			r.cfg.Metrics.leader.Set(1)
		} else {
			r.cfg.Metrics.leader.Set(0)
		}
	}
}

// closeSession ends the current session as a crash would, from etcd's point
// of view: its lease is revoked and the leader key goes with it.
func (r *Runner) closeSession() error {
	r.mu.Lock()
	s := r.session
	r.mu.Unlock()
	if s == nil {
		return errors.New("no session")
	}
	return s.Close()
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
