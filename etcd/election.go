package etcd

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

	"github.com/ice-rest-catalog/ice/internal/clock"
)

// ElectionConfig configures an Election.
type ElectionConfig struct {
	Client *clientv3.Client
	Key    string // the election's etcd prefix
	// Identity is what the leader key holds; default hostname:pid.
	Identity string
	// TTL is the lease of the leader's session: a leader that dies loses
	// the election this long after its last keep-alive. Default 15s.
	TTL time.Duration
	// Role names what the leader does, in logs ("maintenance", "event
	// delivery").
	Role string
	Log  *slog.Logger
	// OnLeading, when set, is told when this replica starts and stops
	// leading (a metrics gauge).
	OnLeading func(leading bool)
}

// Election keeps one replica of several leading: each runs one Election on
// the same key, and while this one holds the etcd election (a
// concurrency.Election on a concurrency.Session) it runs the leader's work.
// If the leader dies its lease expires and a waiting replica's campaign
// succeeds.
type Election struct {
	cfg ElectionConfig

	mu      sync.Mutex
	session *concurrency.Session
	leading bool
}

// NewElection returns an Election; Run starts it.
func NewElection(cfg ElectionConfig) *Election {
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
	return &Election{cfg: cfg}
}

// Identity is what the leader key holds while this replica leads.
func (e *Election) Identity() string { return e.cfg.Identity }

// Leading reports whether this replica holds the election now.
func (e *Election) Leading() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading
}

// Run campaigns, calls lead while leading, and campaigns again when its
// session is lost; it returns when ctx ends. lead's context ends when
// leadership is lost (or ctx ends), and lead must return then: the
// election is resigned only after it has, so two replicas never lead at
// once for longer than it takes the old leader to notice its lease is gone.
func (e *Election) Run(ctx context.Context, lead func(ctx context.Context)) error {
	for ctx.Err() == nil {
		err := e.term(ctx, lead)
		if ctx.Err() != nil {
			break
		}
		e.cfg.Log.WarnContext(ctx, e.cfg.Role+" leadership lost or not obtained; campaigning again", "err", err)
		if !clock.Sleep(ctx, time.Second) {
			break
		}
	}
	return nil
}

// term is one session: campaign, then lead until the session ends.
func (e *Election) term(ctx context.Context, lead func(ctx context.Context)) error {
	s, err := concurrency.NewSession(e.cfg.Client, concurrency.WithTTL(int((e.cfg.TTL+time.Second-1)/time.Second)), concurrency.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("etcd session: %w", err)
	}
	e.mu.Lock()
	e.session = s
	e.mu.Unlock()
	defer s.Close()

	el := concurrency.NewElection(s, e.cfg.Key)
	// The campaign and the lead end when ctx ends or when the session is
	// lost (then it could never win with this lease).
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.Done():
			cancel()
		case <-lctx.Done():
		}
	}()
	if err := el.Campaign(lctx, e.cfg.Identity); err != nil {
		return fmt.Errorf("campaign: %w", err)
	}
	e.setLeading(true)
	defer e.setLeading(false)
	e.cfg.Log.InfoContext(ctx, "elected "+e.cfg.Role+" leader", "identity", e.cfg.Identity, "key", e.cfg.Key)

	lead(lctx)
	<-lctx.Done()
	// Hand over at once rather than when the lease expires; the lead has
	// returned, so nothing of this replica's still runs.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	_ = el.Resign(rctx)
	rcancel()
	return errors.New("session ended")
}

func (e *Election) setLeading(v bool) {
	e.mu.Lock()
	e.leading = v
	e.mu.Unlock()
	if e.cfg.OnLeading != nil {
		e.cfg.OnLeading(v)
	}
}

// CloseSession ends the current session as a crash would, from etcd's
// point of view: its lease is revoked and the leader key goes with it.
// For tests of failover.
func (e *Election) CloseSession() error {
	e.mu.Lock()
	s := e.session
	e.mu.Unlock()
	if s == nil {
		return errors.New("no session")
	}
	return s.Close()
}
