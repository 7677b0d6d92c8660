// Package delivery pushes the change feed to NATS JetStream and HTTP
// webhooks from the elected leader only, at least once: a sink's cursor is
// saved in etcd after the sink acknowledged a batch, so a new leader
// resumes where the old one's last acknowledged batch ended, and every
// CloudEvent keeps its id across redelivery for consumers to deduplicate.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/clock"
)

// Sink is one destination.
type Sink interface {
	// Name keys the sink's cursor.
	Name() string
	// Send delivers a batch; nil means every event was acknowledged.
	Send(ctx context.Context, batch []ice.CloudEvent) error
	Close() error
}

// Config configures a Deliverer.
type Config struct {
	Feed    ice.ChangeFeed
	Cursors ice.CursorStore
	// Client and ElectionKey elect the one replica that delivers.
	Client      *clientv3.Client
	ElectionKey string
	Identity    string // default host:pid
	TTL         time.Duration
	Sinks       []Sink
	Source      string // the CloudEvents source
	BatchSize   int    // default 100
	// Backoff is the first wait after a failed batch, doubling up to
	// MaxBackoff. Defaults 100ms and 30s.
	Backoff, MaxBackoff time.Duration
	Log                 *slog.Logger
	Registerer          prometheus.Registerer
}

// Deliverer runs the sinks while this replica leads.
type Deliverer struct {
	cfg      Config
	m        *metrics
	election *etcd.Election
}

type metrics struct {
	delivered *prometheus.CounterVec
	failures  *prometheus.CounterVec
	gaps      *prometheus.CounterVec
	lag       *prometheus.GaugeVec
	leader    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ice_events_delivered_total",
			Help: "Events acknowledged by each sink."}, []string{"sink"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ice_events_delivery_failures_total",
			Help: "Failed deliveries of a batch (each retried)."}, []string{"sink"}),
		gaps: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ice_events_delivery_gaps_total",
			Help: "Times a sink's cursor had been compacted away, so events were skipped."}, []string{"sink"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ice_events_delivery_lag_revisions",
			Help: "etcd revisions between the catalog's head and the sink's saved cursor."}, []string{"sink"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ice_events_delivery_leader",
			Help: "1 while this replica delivers the events."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.delivered, m.failures, m.gaps, m.lag, m.leader} {
			if err := reg.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					panic(err)
				}
			}
		}
	}
	return m
}

// New returns a Deliverer; Run starts it.
func New(cfg Config) *Deliverer {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	d := &Deliverer{cfg: cfg, m: newMetrics(cfg.Registerer)}
	d.election = etcd.NewElection(etcd.ElectionConfig{Client: cfg.Client, Key: cfg.ElectionKey,
		Identity: cfg.Identity, TTL: cfg.TTL, Role: "event delivery", Log: cfg.Log,
		OnLeading: func(v bool) {
			if v {
				d.m.leader.Set(1)
			} else {
				d.m.leader.Set(0)
			}
		}})
	return d
}

// Leading reports whether this replica delivers now.
func (d *Deliverer) Leading() bool { return d.election.Leading() }

// Run campaigns, delivers while leading, and campaigns again when its
// session is lost, until ctx ends. It closes the sinks when it returns.
func (d *Deliverer) Run(ctx context.Context) error {
	defer func() {
		for _, s := range d.cfg.Sinks {
			_ = s.Close()
		}
	}()
	return d.election.Run(ctx, d.lead)
}

// lead runs every sink until leadership is lost.
func (d *Deliverer) lead(ctx context.Context) {
	var wg sync.WaitGroup
	for _, sink := range d.cfg.Sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.runSink(ctx, sink)
		}()
	}
	wg.Wait()
}

// runSink delivers to one sink until ctx ends, restarting its watch after
// an error from the saved cursor.
func (d *Deliverer) runSink(ctx context.Context, sink Sink) {
	log := d.cfg.Log.With("sink", sink.Name())
	for ctx.Err() == nil {
		err := d.deliver(ctx, sink)
		if ctx.Err() != nil {
			return
		}
		log.WarnContext(ctx, "event delivery interrupted; resuming from the saved cursor", "err", err)
		if !clock.Sleep(ctx, d.cfg.Backoff) {
			return
		}
	}
}

// deliver is one watch: events go into batches of up to BatchSize (a batch
// is what has arrived while the previous one was sent), each sent until
// acknowledged, then its cursor saved.
func (d *Deliverer) deliver(ctx context.Context, sink Sink) error {
	name := sink.Name()
	cur, ok, err := d.cfg.Cursors.LoadCursor(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		// A new sink starts at the head: it gets what happens from now.
		head, err := d.cfg.Feed.Head(ctx)
		if err != nil {
			return err
		}
		cur = ice.Cursor{Revision: head}
		if err := d.cfg.Cursors.SaveCursor(ctx, name, cur); err != nil {
			return err
		}
	}
	if err := d.cfg.Feed.Check(ctx, cur); err != nil {
		var ce *ice.CursorCompactedError
		if !errors.As(err, &ce) {
			return err
		}
		d.m.gaps.WithLabelValues(name).Inc()
		d.cfg.Log.ErrorContext(ctx, "event sink's cursor was compacted away: events before the resync revision are skipped",
			"sink", name, "cursor", cur.String(), "resync", ce.Resync)
		cur = ice.Cursor{Revision: ce.Resync}
		if err := d.cfg.Cursors.SaveCursor(ctx, name, cur); err != nil {
			return err
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan ice.Event, d.cfg.BatchSize)
	errc := make(chan error, 1)
	go func() {
		defer close(events)
		errc <- d.cfg.Feed.Watch(wctx, cur, func(e ice.Event) error {
			select {
			case events <- e:
				return nil
			case <-wctx.Done():
				return wctx.Err()
			}
		})
	}()
	for {
		e, ok := <-events
		if !ok {
			return <-errc
		}
		batch := []ice.Event{e}
	fill:
		for len(batch) < d.cfg.BatchSize {
			select {
			case e, ok := <-events:
				if !ok {
					break fill
				}
				batch = append(batch, e)
			default:
				break fill
			}
		}
		if err := d.send(ctx, sink, batch); err != nil {
			return err
		}
		last := batch[len(batch)-1].Cursor()
		// The head is read before the save, whose own revision would
		// otherwise count as lag.
		head, herr := d.cfg.Feed.Head(ctx)
		if err := d.cfg.Cursors.SaveCursor(ctx, name, last); err != nil {
			return fmt.Errorf("save cursor %s: %w", last, err)
		}
		d.m.delivered.WithLabelValues(name).Add(float64(len(batch)))
		if herr == nil {
			d.m.lag.WithLabelValues(name).Set(float64(head - last.Revision))
		}
	}
}

// send retries a batch with jittered exponential backoff until the sink
// acknowledges it or ctx ends.
func (d *Deliverer) send(ctx context.Context, sink Sink, batch []ice.Event) error {
	ces := make([]ice.CloudEvent, len(batch))
	for i, e := range batch {
		ces[i] = e.CloudEvent(d.cfg.Source)
	}
	wait := d.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := sink.Send(ctx, ces)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.m.failures.WithLabelValues(sink.Name()).Inc()
		d.cfg.Log.WarnContext(ctx, "event delivery failed; retrying", "sink", sink.Name(), "attempt", attempt,
			"events", len(ces), "first", ces[0].ID, "err", err)
		if !clock.Sleep(ctx, wait/2+rand.N(wait/2+1)) {
			return ctx.Err()
		}
		wait = min(wait*2, d.cfg.MaxBackoff)
	}
}
