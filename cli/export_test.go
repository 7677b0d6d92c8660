package cli

import "time"

// WithWatchRetryWait returns env with insert --watch's pause after a
// failed batch set to d instead of 20 s, so a test of the retry does not
// wait.
func WithWatchRetryWait(env Env, d time.Duration) Env {
	env.watchRetryWait = d
	return env
}
