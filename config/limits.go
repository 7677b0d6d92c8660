package config

import "fmt"

// Limits bound what one client can make a replica hold, store or compute.
// Every limit the server enforces is here or is maxRequestBodyBytes; zero
// takes the default, and the defaults are in WithDefaults. Each refusal is
// a 4xx or 503 in the Iceberg error model (docs/security.md, "Request
// limits").
type Limits struct {
	// MaxRequestsInFlight is how many API requests one replica serves at
	// once; one more gets 503 with Retry-After. Default 256; -1: no limit.
	MaxRequestsInFlight int `yaml:"maxRequestsInFlight"`
	// MaxEventStreams is how many change-feed streams (GET
	// /management/v1/events) one replica holds open at once; they do not
	// count against MaxRequestsInFlight. One more gets 503 with
	// Retry-After. Default 64; -1: no limit.
	MaxEventStreams int `yaml:"maxEventStreams"`
	// MaxNamespacePropertiesBytes bounds a namespace's properties, as
	// stored (JSON); more get 413. Default 1 MiB, under etcd's default
	// 1.5 MiB request limit.
	MaxNamespacePropertiesBytes int `yaml:"maxNamespacePropertiesBytes"`
	// MaxScanFilterDepth bounds the nesting of a scan plan's filter; a
	// deeper one gets 400. Default 64.
	MaxScanFilterDepth int `yaml:"maxScanFilterDepth"`
	// MaxScanFilterValues bounds the JSON tokens (objects, arrays, keys,
	// terms, literals, list elements) of a scan plan's filter; more get
	// 400. Default 100000.
	MaxScanFilterValues int `yaml:"maxScanFilterValues"`
	// IdempotencyMaxRecordBytes bounds one stored Idempotency-Key answer;
	// a larger answer is not stored, so a retry runs the request again.
	// Default 256 KiB.
	IdempotencyMaxRecordBytes int `yaml:"idempotencyMaxRecordBytes"`
	// IdempotencyKeysPerPrincipal bounds the Idempotency-Keys one
	// principal holds at a time (each lives idempotencyKeyLifetime); one
	// more gets 429. Default 1000; -1: no limit.
	IdempotencyKeysPerPrincipal int `yaml:"idempotencyKeysPerPrincipal"`
	// TokenRequestsPerSecond and TokenRequestBurst bound POST
	// /v1/oauth/tokens client-credentials requests per client id, per
	// replica; more get 429 with Retry-After. Default 5 a second, bursts
	// of 20; -1: no limit.
	TokenRequestsPerSecond float64 `yaml:"tokenRequestsPerSecond"`
	TokenRequestBurst      int     `yaml:"tokenRequestBurst"`
}

// The defaults of Limits.
const (
	DefaultMaxRequestsInFlight         = 256
	DefaultMaxEventStreams             = 64
	DefaultMaxNamespacePropertiesBytes = 1 << 20
	DefaultMaxScanFilterDepth          = 64
	DefaultMaxScanFilterValues         = 100000
	DefaultIdempotencyMaxRecordBytes   = 256 << 10
	DefaultIdempotencyKeysPerPrincipal = 1000
	DefaultTokenRequestsPerSecond      = 5
	DefaultTokenRequestBurst           = 20
)

// WithDefaults returns l with every zero replaced by its default, and
// every -1 (no limit) by 0.
func (l Limits) WithDefaults() Limits {
	orDefault := func(v *int, d int) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0
		}
	}
	orDefault(&l.MaxRequestsInFlight, DefaultMaxRequestsInFlight)
	orDefault(&l.MaxEventStreams, DefaultMaxEventStreams)
	orDefault(&l.MaxNamespacePropertiesBytes, DefaultMaxNamespacePropertiesBytes)
	orDefault(&l.MaxScanFilterDepth, DefaultMaxScanFilterDepth)
	orDefault(&l.MaxScanFilterValues, DefaultMaxScanFilterValues)
	orDefault(&l.IdempotencyMaxRecordBytes, DefaultIdempotencyMaxRecordBytes)
	orDefault(&l.IdempotencyKeysPerPrincipal, DefaultIdempotencyKeysPerPrincipal)
	orDefault(&l.TokenRequestBurst, DefaultTokenRequestBurst)
	switch {
	case l.TokenRequestsPerSecond == 0:
		l.TokenRequestsPerSecond = DefaultTokenRequestsPerSecond
	case l.TokenRequestsPerSecond < 0:
		l.TokenRequestsPerSecond = 0
	}
	return l
}

func (l Limits) check() error {
	for _, c := range []struct {
		key string
		v   int
	}{
		{"maxRequestsInFlight", l.MaxRequestsInFlight},
		{"maxEventStreams", l.MaxEventStreams},
		{"idempotencyKeysPerPrincipal", l.IdempotencyKeysPerPrincipal},
	} {
		if c.v < -1 {
			return fmt.Errorf("limits.%s %d must be positive, or -1 for no limit", c.key, c.v)
		}
	}
	for _, c := range []struct {
		key string
		v   int
	}{
		{"maxNamespacePropertiesBytes", l.MaxNamespacePropertiesBytes},
		{"maxScanFilterDepth", l.MaxScanFilterDepth},
		{"maxScanFilterValues", l.MaxScanFilterValues},
		{"idempotencyMaxRecordBytes", l.IdempotencyMaxRecordBytes},
		{"tokenRequestBurst", l.TokenRequestBurst},
	} {
		if c.v < 0 {
			return fmt.Errorf("limits.%s %d must not be negative", c.key, c.v)
		}
	}
	if l.TokenRequestsPerSecond < 0 && l.TokenRequestsPerSecond != -1 {
		return fmt.Errorf("limits.tokenRequestsPerSecond %g must be positive, or -1 for no limit", l.TokenRequestsPerSecond)
	}
	return nil
}
