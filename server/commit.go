package server

import (
	"log/slog"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/service"
)

// commitRetry is the config's commitRetry as the service's retry policy.
func commitRetry(cfg *config.Config) service.RetryPolicy {
	r := cfg.CommitRetry
	return service.RetryPolicy{NumRetries: r.NumRetries, MinWait: r.MinWait(), MaxWait: r.MaxWait(), TotalTimeout: r.TotalTimeout()}
}

// commitLocker is the Java server's per-table commit lock when commitLock
// is enabled, else nil: our commits are safe without it.
func commitLocker(cfg *config.Config, cli *clientv3.Client, log *slog.Logger) service.CommitLocker {
	if !cfg.CommitLock.Enabled {
		return nil
	}
	log.Info("commit lock enabled: commits also take the Java ice-rest-catalog's etcd lock locks/v1/<catalog>/<namespace.table>",
		"leaseTtlSeconds", cfg.CommitLock.LeaseTTLSeconds, "acquireTimeoutMs", cfg.CommitLock.AcquireTimeoutMs)
	return &etcd.CommitLocks{Client: cli, Catalog: cfg.Name, LeaseTTL: cfg.CommitLock.LeaseTTL(),
		AcquireTimeout: cfg.CommitLock.AcquireTimeout(), Log: log}
}
