package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ice-rest-catalog/ice/config"
)

func TestEventsAndSoftDropConfig(t *testing.T) {
	ok := `
anonymousAccess: {enabled: true}
softDrop: {enabled: true, retention: 30d}
events:
  nats: {url: "nats://n:4222", subject: catalog, stream: CATALOG}
  webhooks:
    - {name: lineage, url: "https://l.example.com/h", headers: {Authorization: "Bearer x"}}
`
	cfg, err := config.Parse([]byte(ok), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SoftDrop.RetentionDuration() != 30*24*time.Hour || cfg.Events.NATS.Name != "nats" || cfg.Events.Webhooks[0].Name != "lineage" {
		t.Fatalf("parsed %+v %+v", cfg.SoftDrop, cfg.Events)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"softDrop: {retention: 7x}", "softDrop.retention"},
		{"events: {nats: {url: nats://n}}", "events.nats needs url and subject"},
		{"events: {nats: {url: nats://n, subject: 'a.>'}}", "wildcards"},
		{"events: {webhooks: [{name: a, url: 'ftp://x'}]}", "not an http(s) URL"},
		{"events: {webhooks: [{name: 'a b', url: 'http://x'}]}", "events.webhooks[0].name"},
		{"events: {webhooks: [{name: nats, url: 'http://x'}], nats: {url: nats://n, subject: s}}", "two sinks"},
		{"events: {batchSize: -1}", "batchSize"},
		{"name: ev", "reserved"},
	} {
		_, err := config.Parse([]byte("anonymousAccess: {enabled: true}\n"+tc.yaml), func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.yaml, err, tc.want)
		}
	}
}
