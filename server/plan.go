package server

import (
	"log/slog"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/service"
)

// newPlanner builds the scan planner from the config, or nil when scan
// planning is disabled (its endpoints are then neither served nor
// advertised).
func newPlanner(cfg *config.Config, svc *service.Service, store *etcd.Store, log *slog.Logger) *service.Planner {
	sp := cfg.ScanPlanning
	if sp.Disabled {
		return nil
	}
	return service.NewPlanner(service.PlannerConfig{Service: svc, Plans: store, Log: log,
		SigningKey: []byte(sp.SigningKey), FilesPerTask: sp.FilesPerTask, AsyncAfter: sp.AsyncAfter,
		PlanTimeout: sp.PlanTimeout, PlanTTL: sp.PlanTTL,
		MaxFilterDepth: cfg.Limits.WithDefaults().MaxScanFilterDepth, MaxFilterValues: cfg.Limits.WithDefaults().MaxScanFilterValues})
}
