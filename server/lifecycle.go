package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ice-rest-catalog/ice/warehouse"
)

// phase is where a server is in its life: the debug listener answers from
// the start, and /readyz tells a load balancer whether to send traffic.
type phase int32

const (
	phaseStarting phase = iota // waiting for etcd; /readyz says so
	phaseServing               // /readyz checks etcd and the warehouse
	phaseDraining              // SIGTERM: /readyz fails while requests finish
)

// lifecycle is shared by Start, Shutdown and the debug handler. The
// backends are published with the phase change to serving, so the handler
// reads them only after they are set.
type lifecycle struct {
	phase   atomic.Int32
	waiting atomic.Pointer[string] // what start-up waits for, for /readyz
	cli     *clientv3.Client
	wh      *warehouse.Warehouse
}

func (l *lifecycle) current() phase { return phase(l.phase.Load()) }

// serve publishes the backends and lets /readyz check them.
func (l *lifecycle) serve(cli *clientv3.Client, wh *warehouse.Warehouse) {
	l.cli, l.wh = cli, wh
	l.phase.Store(int32(phaseServing))
}

func (l *lifecycle) drain() { l.phase.Store(int32(phaseDraining)) }

// waitForEtcd blocks until a linearizable read through cli succeeds, that
// is until a quorum of the cluster answers, or ctx ends. A catalog started
// before its etcd (a pod scheduled before the StatefulSet is up, compose
// starting everything at once) waits instead of exiting, and says what it
// waits for at every attempt.
func waitForEtcd(ctx context.Context, cli *clientv3.Client, endpoints []string, log *slog.Logger, l *lifecycle) error {
	what := "etcd at " + strings.Join(endpoints, ",")
	l.waiting.Store(&what)
	const maxBackoff = 5 * time.Second
	backoff := 200 * time.Millisecond
	start := time.Now()
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := cli.Get(actx, "health", clientv3.WithCountOnly())
		cancel()
		if err == nil {
			if attempt > 1 {
				log.Info("etcd is reachable", "endpoints", endpoints, "attempts", attempt,
					"waited", time.Since(start).Round(time.Millisecond).String())
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("stopped while waiting for %s: %w", what, ctx.Err())
		}
		log.Warn("waiting for etcd: no quorum answers a read yet; retrying", "endpoints", endpoints,
			"attempt", attempt, "retryIn", backoff.String(), "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped while waiting for %s: %w", what, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}
