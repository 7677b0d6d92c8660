package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DefaultIdempotencyKeyLifetime is the spec example's PT30M.
const DefaultIdempotencyKeyLifetime = 30 * time.Minute

// IdempotencyKeyLifetimeDuration is how long the outcome of a request with
// an Idempotency-Key is kept, as /v1/config advertises it.
func (c *Config) IdempotencyKeyLifetimeDuration() time.Duration {
	d, err := parseISODuration(c.IdempotencyKeyLifetime)
	if c.IdempotencyKeyLifetime == "" || err != nil { // checked when loaded
		return DefaultIdempotencyKeyLifetime
	}
	return d
}

func (c *Config) checkIdempotencyKeyLifetime() error {
	if c.IdempotencyKeyLifetime == "" {
		return nil
	}
	d, err := parseISODuration(c.IdempotencyKeyLifetime)
	if err != nil {
		return fmt.Errorf("idempotencyKeyLifetime: %w", err)
	}
	if d < time.Second {
		return fmt.Errorf("idempotencyKeyLifetime %q must be at least one second (PT1S)", c.IdempotencyKeyLifetime)
	}
	return nil
}

// isoDuration matches the ISO-8601 durations of fixed length: weeks, days,
// hours, minutes and (fractional) seconds. Years and months have no fixed
// length, so they are refused rather than guessed.
var isoDuration = regexp.MustCompile(`^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$`)

func parseISODuration(s string) (time.Duration, error) {
	m := isoDuration.FindStringSubmatch(s)
	if m == nil || s == "P" || s[len(s)-1] == 'T' {
		return 0, fmt.Errorf("%q is not an ISO-8601 duration such as PT30M, PT24H or P1D (years and months are not accepted)", s)
	}
	units := []time.Duration{7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute}
	var d time.Duration
	for i, unit := range units {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.ParseInt(m[i+1], 10, 64)
		if err != nil || n > int64(100*365*24*time.Hour/unit) {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		d += time.Duration(n) * unit
	}
	if m[5] != "" {
		sec, err := strconv.ParseFloat(strings.ReplaceAll(m[5], ",", "."), 64)
		if err != nil || sec > 100*365*24*3600 {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		d += time.Duration(sec * float64(time.Second))
	}
	return d, nil
}
