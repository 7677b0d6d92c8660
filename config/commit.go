package config

import "time"

// CommitRetry tunes the server's retry of a commit whose compare-and-swap
// lost a race (the pointer moved between read and swap while the client's
// requirements still hold). The keys and defaults are the Java
// ice-rest-catalog's commitRetry, which are Iceberg's commit.retry.*
// defaults. A zero or negative value takes the default.
type CommitRetry struct {
	NumRetries     int   `yaml:"numRetries"`     // retries after the first attempt; default 4
	MinWaitMs      int64 `yaml:"minWaitMs"`      // first backoff; default 100
	MaxWaitMs      int64 `yaml:"maxWaitMs"`      // backoff ceiling; default 60000
	TotalTimeoutMs int64 `yaml:"totalTimeoutMs"` // no retry starts after this; default 1800000
}

// Defaults of CommitRetry, those of Java ice (Iceberg's TableProperties).
const (
	DefaultCommitNumRetries     = 4
	DefaultCommitMinWaitMs      = 100
	DefaultCommitMaxWaitMs      = 60_000
	DefaultCommitTotalTimeoutMs = 30 * 60 * 1000
)

func (r *CommitRetry) applyDefaults() {
	if r.NumRetries <= 0 {
		r.NumRetries = DefaultCommitNumRetries
	}
	if r.MinWaitMs <= 0 {
		r.MinWaitMs = DefaultCommitMinWaitMs
	}
	if r.MaxWaitMs <= 0 {
		r.MaxWaitMs = DefaultCommitMaxWaitMs
	}
	if r.MaxWaitMs < r.MinWaitMs {
		r.MaxWaitMs = r.MinWaitMs
	}
	if r.TotalTimeoutMs <= 0 {
		r.TotalTimeoutMs = DefaultCommitTotalTimeoutMs
	}
}

// MinWait, MaxWait and TotalTimeout are the millisecond keys as durations.
func (r CommitRetry) MinWait() time.Duration { return time.Duration(r.MinWaitMs) * time.Millisecond }

// MaxWait is maxWaitMs as a duration.
func (r CommitRetry) MaxWait() time.Duration { return time.Duration(r.MaxWaitMs) * time.Millisecond }

// TotalTimeout is totalTimeoutMs as a duration.
func (r CommitRetry) TotalTimeout() time.Duration {
	return time.Duration(r.TotalTimeoutMs) * time.Millisecond
}

// CommitLock is the Java ice-rest-catalog's optional per-table commit lock
// in etcd (locks/v1/<catalog>/<namespace.table>). Our commits are safe
// without it (each is one compare-and-swap); turn it on while Java replicas
// that use it share the etcd cluster, so both take the same lock.
type CommitLock struct {
	Enabled          bool  `yaml:"enabled"`          // default false
	LeaseTTLSeconds  int64 `yaml:"leaseTtlSeconds"`  // the lock's lease; default 30
	AcquireTimeoutMs int64 `yaml:"acquireTimeoutMs"` // wait for the lock; default 30000
}

// Defaults of CommitLock, those of Java ice.
const (
	DefaultCommitLockLeaseTTLSeconds  = 30
	DefaultCommitLockAcquireTimeoutMs = 30_000
)

func (l *CommitLock) applyDefaults() {
	if l.LeaseTTLSeconds <= 0 {
		l.LeaseTTLSeconds = DefaultCommitLockLeaseTTLSeconds
	}
	if l.AcquireTimeoutMs <= 0 {
		l.AcquireTimeoutMs = DefaultCommitLockAcquireTimeoutMs
	}
}

// LeaseTTL is leaseTtlSeconds as a duration.
func (l CommitLock) LeaseTTL() time.Duration { return time.Duration(l.LeaseTTLSeconds) * time.Second }

// AcquireTimeout is acquireTimeoutMs as a duration.
func (l CommitLock) AcquireTimeout() time.Duration {
	return time.Duration(l.AcquireTimeoutMs) * time.Millisecond
}
