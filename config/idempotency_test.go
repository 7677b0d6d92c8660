package config

import (
	"testing"
	"time"
)

func TestIdempotencyKeyLifetime(t *testing.T) {
	for _, tc := range []struct {
		text string
		want time.Duration
	}{
		{"", 30 * time.Minute},
		{"idempotencyKeyLifetime: PT30M", 30 * time.Minute},
		{"idempotencyKeyLifetime: PT24H", 24 * time.Hour},
		{"idempotencyKeyLifetime: P1DT1H30M", 25*time.Hour + 30*time.Minute},
		{"idempotencyKeyLifetime: P1W", 7 * 24 * time.Hour},
		{"idempotencyKeyLifetime: PT1.5S", 1500 * time.Millisecond},
	} {
		c, err := Parse([]byte("addr: 127.0.0.1:0\nanonymousAccess: {enabled: true}\n"+tc.text), func(string) string { return "" })
		if err != nil {
			t.Errorf("%q: %v", tc.text, err)
			continue
		}
		if got := c.IdempotencyKeyLifetimeDuration(); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.text, got, tc.want)
		}
	}
	for _, bad := range []string{"30m", "P1M", "P1Y", "PT", "P", "PT0S", "PT0.5S", "-PT1M", "PT1H30"} {
		if _, err := Parse([]byte("anonymousAccess: {enabled: true}\nidempotencyKeyLifetime: "+bad), func(string) string { return "" }); err == nil {
			t.Errorf("idempotencyKeyLifetime %q was accepted", bad)
		}
	}
}
