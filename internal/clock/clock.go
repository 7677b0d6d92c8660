// Package clock holds the one context-aware sleep that background loops
// (the election, event delivery, commit retries) wait with.
package clock

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx ends; it reports whether the whole d
// passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
