package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	ice "github.com/ice-rest-catalog/ice"
)

// NATS publishes each event to JetStream, on <subject>.<type>, with the
// CloudEvent id as Nats-Msg-Id: JetStream itself drops a redelivered
// event within the stream's duplicate window, and a consumer can
// deduplicate by id beyond it. A batch is acknowledged when JetStream
// acknowledged every event of it.
type NATS struct {
	name    string
	subject string
	nc      *nats.Conn
	js      jetstream.JetStream
}

// NATSConfig is what NewNATS needs.
type NATSConfig struct {
	Name, URL, Subject, Stream string
	Credentials, Token         string
}

// NewNATS connects; with Stream set it creates the stream (over
// <subject>.>) if it is missing.
func NewNATS(ctx context.Context, cfg NATSConfig) (*NATS, error) {
	opts := []nats.Option{nats.Name("ice-rest-catalog events"), nats.MaxReconnects(-1)}
	if cfg.Credentials != "" {
		opts = append(opts, nats.UserCredentials(cfg.Credentials))
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS %s: %w", cfg.URL, err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(10*time.Second))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("NATS JetStream: %w", err)
	}
	if cfg.Stream != "" {
		_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: cfg.Stream, Subjects: []string{cfg.Subject + ".>"},
			Duplicates: 10 * time.Minute})
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("NATS stream %s: %w", cfg.Stream, err)
		}
	}
	return &NATS{name: cfg.Name, subject: cfg.Subject, nc: nc, js: js}, nil
}

func (n *NATS) Name() string { return n.name }
func (n *NATS) Close() error { n.nc.Close(); return nil }

func (n *NATS) Send(ctx context.Context, batch []ice.CloudEvent) error {
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	for _, ce := range batch {
		body, err := json.Marshal(ce)
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		msg := nats.NewMsg(n.subject + "." + ce.Type)
		msg.Data = body
		msg.Header.Set(jetstream.MsgIDHeader, ce.ID)
		msg.Header.Set("Content-Type", "application/cloudevents+json")
		f, err := n.js.PublishMsgAsync(msg)
		if err != nil {
			return fmt.Errorf("publish %s: %w", ce.ID, err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("NATS did not acknowledge %s: %w", f.Msg().Header.Get(jetstream.MsgIDHeader), err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
