package server

import (
	"context"
	"fmt"
	"time"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/delivery"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/metrics"
	"github.com/ice-rest-catalog/ice/service"
)

// eventLoop is the leader-elected delivery of the change feed to the
// configured sinks (docs/events.md).
type eventLoop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// eventSource is the CloudEvents source of the catalog's events.
func eventSource(cfg *config.Config) string { return "/catalogs/" + cfg.Name }

// startEvents starts the deliverer when the config names a sink. Every
// replica runs one; the etcd election picks the one that delivers.
func (s *Server) startEvents(ctx context.Context, cfg *config.Config, feed *service.Feed, store *etcd.Store, m *metrics.Metrics) error {
	ec := cfg.Events
	var sinks []delivery.Sink
	for _, w := range ec.Webhooks {
		sinks = append(sinks, delivery.NewWebhook(w.Name, w.URL, w.Headers, w.Timeout))
	}
	if n := ec.NATS; n != nil {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		sink, err := delivery.NewNATS(cctx, delivery.NATSConfig{Name: n.Name, URL: n.URL, Subject: n.Subject,
			Stream: n.Stream, Credentials: n.Credentials, Token: n.Token})
		cancel()
		if err != nil {
			for _, s := range sinks {
				_ = s.Close()
			}
			return fmt.Errorf("events.nats: %w", err)
		}
		sinks = append(sinks, sink)
	}
	if len(sinks) == 0 {
		return nil
	}
	d := delivery.New(delivery.Config{Feed: feed, Cursors: store, Client: s.cli, ElectionKey: store.EventsLeaderKey(),
		Sinks: sinks, Source: eventSource(cfg), BatchSize: ec.BatchSize, MaxBackoff: ec.MaxBackoff,
		Log: s.log, Registerer: m.Registerer()})
	lctx, cancel := context.WithCancel(context.Background())
	s.events = &eventLoop{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.events.done)
		_ = d.Run(lctx)
	}()
	s.log.Info("event delivery on the elected leader", "sinks", len(sinks))
	return nil
}

func (s *Server) stopEvents() {
	if s.events == nil {
		return
	}
	s.events.cancel()
	select {
	case <-s.events.done:
	case <-time.After(10 * time.Second):
		s.log.Warn("event delivery did not stop within 10s")
	}
}
