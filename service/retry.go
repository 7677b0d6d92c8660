package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/internal/clock"
)

// RetryPolicy says whether, and after how long, a commit whose
// compare-and-swap lost a race is tried again from a fresh base. It is the
// Java ice-rest-catalog's commitRetry: up to NumRetries retries, waiting
// MinWait, then twice as long each time up to MaxWait (plus up to 10%
// jitter so replicas spread apart), and no retry starts once TotalTimeout
// has passed since the commit began.
type RetryPolicy struct {
	NumRetries   int
	MinWait      time.Duration
	MaxWait      time.Duration
	TotalTimeout time.Duration
}

// DefaultRetryPolicy is Java ice's default commitRetry (Iceberg's
// commit.retry.* defaults).
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{NumRetries: 4, MinWait: 100 * time.Millisecond, MaxWait: time.Minute, TotalTimeout: 30 * time.Minute}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.NumRetries <= 0 {
		p.NumRetries = d.NumRetries
	}
	if p.MinWait <= 0 {
		p.MinWait = d.MinWait
	}
	if p.MaxWait < p.MinWait {
		p.MaxWait = max(p.MinWait, d.MaxWait)
	}
	if p.TotalTimeout <= 0 {
		p.TotalTimeout = d.TotalTimeout
	}
	return p
}

// allows reports whether the attempt that just failed (0 is the first) may
// be followed by another.
func (p RetryPolicy) allows(attempt int, started time.Time) bool {
	return attempt < p.NumRetries && time.Since(started) < p.TotalTimeout
}

// delay is the wait before the retry that follows attempt, without jitter.
func (p RetryPolicy) delay(attempt int) time.Duration {
	d := p.MinWait
	for range attempt {
		if d >= p.MaxWait/2 {
			return p.MaxWait
		}
		d *= 2
	}
	return min(d, p.MaxWait)
}

// wait sleeps before the retry that follows attempt, or returns early with
// the context's error.
func (p RetryPolicy) wait(ctx context.Context, attempt int) error {
	d := p.delay(attempt)
	if j := int64(d / 10); j > 0 {
		d += time.Duration(rand.Int64N(j))
	}
	if !clock.Sleep(ctx, d) {
		return fmt.Errorf("commit retry: %w", ctx.Err())
	}
	return nil
}

// waitToRetry is what a commit does after losing its swap: if the
// requirements no longer hold on the state that won, the commit fails now
// (waiting could not make them hold again); otherwise it waits out the
// policy's backoff before the retry.
func (s *Service) waitToRetry(ctx context.Context, changes []TableChange, attempt int) error {
	for _, ch := range changes {
		_, baseMd, err := s.loadBase(ctx, ch)
		if err != nil {
			return err
		}
		var current table.Metadata
		if baseMd != nil {
			current = baseMd.Parsed
		}
		if err := requirementsHold(ch, current); err != nil {
			return err
		}
	}
	return s.retry.wait(ctx, attempt)
}
