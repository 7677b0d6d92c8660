package config

import (
	"strings"
	"testing"
)

func TestLimitsDefaultsAndOff(t *testing.T) {
	c, err := Parse([]byte("anonymousAccess: {enabled: true}\n"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	l := c.Limits.WithDefaults()
	if l.MaxRequestsInFlight != DefaultMaxRequestsInFlight || l.IdempotencyKeysPerPrincipal != DefaultIdempotencyKeysPerPrincipal ||
		l.MaxNamespacePropertiesBytes != DefaultMaxNamespacePropertiesBytes || l.MaxScanFilterDepth != DefaultMaxScanFilterDepth ||
		l.MaxScanFilterValues != DefaultMaxScanFilterValues || l.IdempotencyMaxRecordBytes != DefaultIdempotencyMaxRecordBytes ||
		l.TokenRequestsPerSecond != DefaultTokenRequestsPerSecond || l.TokenRequestBurst != DefaultTokenRequestBurst {
		t.Errorf("defaults: %+v", l)
	}
	c, err = Parse([]byte("anonymousAccess: {enabled: true}\nlimits: {maxRequestsInFlight: -1, idempotencyKeysPerPrincipal: -1, tokenRequestsPerSecond: -1, maxScanFilterDepth: 7}\n"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	l = c.Limits.WithDefaults()
	if l.MaxRequestsInFlight != 0 || l.IdempotencyKeysPerPrincipal != 0 || l.TokenRequestsPerSecond != 0 || l.MaxScanFilterDepth != 7 {
		t.Errorf("-1 turns a limit off, a value is kept: %+v", l)
	}
	for _, bad := range []string{"maxRequestsInFlight: -2", "maxScanFilterDepth: -1", "tokenRequestsPerSecond: -0.5", "idempotencyMaxRecordBytes: -3", "bogus: 1"} {
		if _, err := Parse([]byte("anonymousAccess: {enabled: true}\nlimits: {"+bad+"}\n"), func(string) string { return "" }); err == nil {
			t.Errorf("limits {%s} accepted", bad)
		} else if !strings.Contains(err.Error(), strings.Split(bad, ":")[0]) {
			t.Errorf("limits {%s}: %v does not name the key", bad, err)
		}
	}
}
