package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Events configures the delivery of the change feed (docs/events.md).
// GET /management/v1/events needs no configuration.
type Events struct {
	// NATS publishes every event to a JetStream subject.
	NATS *NATSSink `yaml:"nats"`
	// Webhooks POST batches of events.
	Webhooks []Webhook `yaml:"webhooks"`
	// BatchSize bounds the events of one delivery; default 100.
	BatchSize int `yaml:"batchSize"`
	// MaxBackoff caps the wait between retries of a failed batch; default 30s.
	MaxBackoff time.Duration `yaml:"maxBackoff"`
}

// NATSSink is a JetStream destination.
type NATSSink struct {
	// Name keys the sink's cursor in etcd; default "nats".
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// Subject is the prefix of the subjects: an event of type
	// ice.table.committed goes to <subject>.ice.table.committed.
	Subject string `yaml:"subject"`
	// Stream, when set, is created if missing, over <subject>.>.
	Stream string `yaml:"stream"`
	// Credentials is a NATS .creds file; Token a bearer token. Optional.
	Credentials string `yaml:"credentials"`
	Token       string `yaml:"token"`
}

// Webhook is an HTTP destination.
type Webhook struct {
	// Name keys the sink's cursor in etcd.
	Name    string            `yaml:"name"`
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
	// Timeout of one POST; default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// SoftDrop configures soft drop for the whole catalog; namespaces override
// it with the properties ice.soft-drop.enabled and ice.soft-drop.retention.
type SoftDrop struct {
	Enabled bool `yaml:"enabled"`
	// Retention is "7d" (days) or a Go duration ("36h"); default 7d.
	Retention string `yaml:"retention"`
}

var sinkName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// RetentionDuration is Retention parsed (0: the default).
func (s SoftDrop) RetentionDuration() time.Duration {
	d, _ := parseRetention(s.Retention)
	return d
}

func parseRetention(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("%q: want a positive number of days (\"7d\") or a duration (\"36h\")", v)
}

func (c *Config) checkEvents() error {
	if _, err := parseRetention(c.SoftDrop.Retention); err != nil {
		return fmt.Errorf("softDrop.retention %w", err)
	}
	e := &c.Events
	if e.BatchSize < 0 || e.BatchSize > 10000 {
		return fmt.Errorf("events.batchSize %d must be between 1 and 10000", e.BatchSize)
	}
	if e.MaxBackoff < 0 {
		return fmt.Errorf("events.maxBackoff %s must not be negative", e.MaxBackoff)
	}
	names := map[string]bool{}
	if n := e.NATS; n != nil {
		if n.Name == "" {
			n.Name = "nats"
		}
		if n.URL == "" || n.Subject == "" {
			return fmt.Errorf("events.nats needs url and subject")
		}
		if strings.ContainsAny(n.Subject, " *>") {
			return fmt.Errorf("events.nats.subject %q must not contain spaces or wildcards", n.Subject)
		}
		names[n.Name] = true
	}
	for i, w := range e.Webhooks {
		if !sinkName.MatchString(w.Name) {
			return fmt.Errorf("events.webhooks[%d].name %q: want 1-64 letters, digits, '-' or '_'", i, w.Name)
		}
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("events.webhooks[%d].url %q is not an http(s) URL", i, w.URL)
		}
		if names[w.Name] {
			return fmt.Errorf("events: two sinks are named %q; each keeps its own cursor", w.Name)
		}
		names[w.Name] = true
	}
	if e.NATS != nil && !sinkName.MatchString(e.NATS.Name) {
		return fmt.Errorf("events.nats.name %q: want 1-64 letters, digits, '-' or '_'", e.NATS.Name)
	}
	return nil
}
