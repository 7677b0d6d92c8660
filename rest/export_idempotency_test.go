package rest

import "time"

// SetPendingWaitForTest shortens how long a duplicate waits for the running
// request with its key, so a test can see the 503 without waiting 10s.
func (h *Handler) SetPendingWaitForTest(d time.Duration) { h.idem.wait = d }
