// Package service is the heart of the catalog: it turns namespace and table
// operations into reads of the Store and of metadata files, and commits into
// one compare-and-swap of a table's pointer. It knows nothing of HTTP.
package service

import (
	"log/slog"

	ice "github.com/ice-rest-catalog/ice"
)

// Metrics receives commit outcomes. The zero Config uses a no-op.
type Metrics interface {
	// Commit records a finished commit: "ok", "conflict", "unknown" or "error".
	Commit(outcome string)
	// CommitRetry records one lost race that was retried from a fresh base.
	CommitRetry()
}

type noMetrics struct{}

func (noMetrics) Commit(string) {}
func (noMetrics) CommitRetry()  {}

// Config configures a Service.
type Config struct {
	Store     ice.Store
	Warehouse Storage // a *warehouse.Warehouse
	Log       *slog.Logger
	Metrics   Metrics
	// Retry is the policy for a table or view commit that lost its
	// compare-and-swap while its requirements still held (the config's
	// commitRetry). Zero fields take DefaultRetryPolicy's.
	Retry RetryPolicy
	// Locker, when set, takes the Java server's per-table commit locks
	// around each table commit (the config's commitLock).
	Locker CommitLocker
	// CommitRetries bounds the retries of the other conditional writes (drop,
	// unregister, namespace properties) after a concurrent change. Default 8.
	CommitRetries int
	// Deleted keeps soft-dropped entries; nil turns soft drop off.
	Deleted ice.DeletedStore
	// SoftDrop is the catalog's soft-drop setting (deleted.go).
	SoftDrop SoftDrop
	// Locations confines tables' locations and files; default the
	// warehouse's namespace areas with no other allowed prefix.
	Locations *ice.LocationRule
	// MaxNamespacePropertiesBytes bounds a namespace's properties, as
	// stored (JSON); more is a 413. Zero: no bound but etcd's own.
	MaxNamespacePropertiesBytes int
}

// Service implements the catalog's operations.
type Service struct {
	store   ice.Store
	files   Storage
	log     *slog.Logger
	metrics Metrics
	retries int
	// Soft drop: deleted.go.
	deleted  ice.DeletedStore
	softDrop SoftDrop
	rule     *ice.LocationRule
	ruleErr  error // a warehouse the rule cannot parse: every check fails
	// maxPropsBytes is Config.MaxNamespacePropertiesBytes.
	maxPropsBytes int
	retry         RetryPolicy
	locker        CommitLocker
}

// New returns a Service.
func New(cfg Config) *Service {
	s := &Service{store: cfg.Store, files: cfg.Warehouse, log: cfg.Log, metrics: cfg.Metrics,
		retries: cfg.CommitRetries, retry: cfg.Retry.withDefaults(), locker: cfg.Locker,
		rule: cfg.Locations, maxPropsBytes: cfg.MaxNamespacePropertiesBytes,
		deleted: cfg.Deleted, softDrop: cfg.SoftDrop}
	if s.rule == nil {
		s.rule, s.ruleErr = ice.NewLocationRule(cfg.Warehouse.Location(), nil)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	if s.retries <= 0 {
		s.retries = 8
	}
	return s
}

// WarehouseLocation is the root under which new tables are placed.
func (s *Service) WarehouseLocation() string { return s.files.Location() }
