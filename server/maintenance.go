package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/maintenance"
	"github.com/ice-rest-catalog/ice/metrics"
	"github.com/ice-rest-catalog/ice/service"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// maintenanceLoop is the scheduled maintenance of a running server.
type maintenanceLoop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startMaintenance starts the leader-elected maintenance runner when the
// config has a maintenanceSchedule. Every replica runs one; etcd elects the
// one that works.
func (s *Server) startMaintenance(cfg *config.Config, svc *service.Service, store *etcd.Store, m *metrics.Metrics) error {
	mcfg, sched, scheduled, err := maintenance.FromConfig(cfg)
	if err != nil {
		return err
	}
	if !scheduled {
		return nil
	}
	jobs, err := maintenance.New(svc, s.wh, mcfg, s.log, m.Registerer())
	if err != nil {
		return err
	}
	r := maintenance.NewRunner(maintenance.RunnerConfig{
		Client: s.cli, Key: maintenance.ElectionKey(cfg.Name), Schedule: sched, Log: s.log, Metrics: jobs.Metrics(),
		Run: func(ctx context.Context) error {
			return runMaintenance(ctx, jobs, svc, store, s.log, func(rep *maintenance.Report, start time.Time) {
				if s.console != nil {
					s.console.RecordScheduled(rep, start, time.Since(start))
				}
			})
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	s.maint = &maintenanceLoop{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.maint.done)
		_ = r.Run(ctx)
	}()
	s.log.Info("scheduled maintenance on the elected leader", "schedule", cfg.MaintenanceSchedule, "dryRun", mcfg.DryRun)
	return nil
}

// stopMaintenance stops the runner (resigning leadership) before the etcd
// client closes.
func (s *Server) stopMaintenance() {
	if s.maint == nil {
		return
	}
	s.maint.cancel()
	select {
	case <-s.maint.done:
	case <-time.After(10 * time.Second):
		s.log.Warn("maintenance run did not stop within 10s")
	}
}

// endpointFile is where a server on the embedded default writes its etcd's
// client URL, so that backup and perform-maintenance can reach it while it
// runs (the data directory is then locked).
func endpointFile(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "etcd.endpoint") }

func (s *Server) writeEndpointFile(cfg *config.Config) {
	if s.embedded == nil {
		return
	}
	if err := os.WriteFile(endpointFile(cfg), []byte(s.embedded.Endpoint+"\n"), 0o600); err != nil {
		s.log.Warn("could not record the embedded etcd endpoint for backup and perform-maintenance", "err", err)
	}
}

// Backends is what an offline command needs: an etcd client and the
// warehouse, on the configured etcd, or on the embedded default's etcd
// (the running server's, or one started here on its data directory).
type Backends struct {
	Client    *clientv3.Client
	Warehouse *warehouse.Warehouse
	embedded  *etcd.Embedded
}

// OpenBackends connects as the server would.
func OpenBackends(ctx context.Context, cfg *config.Config, log *slog.Logger) (_ *Backends, err error) {
	b := &Backends{}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	endpoints := cfg.EtcdEndpoints()
	if endpoints == nil {
		endpoints, err = b.embeddedEndpoint(ctx, cfg, log)
		if err != nil {
			return nil, err
		}
	}
	if b.Client == nil {
		if b.Client, err = etcd.Connect(ctx, clientv3.Config{Endpoints: endpoints, Context: context.WithoutCancel(ctx)}); err != nil {
			return nil, err
		}
	}
	b.Warehouse, err = warehouse.Open(ctx, warehouse.Config{
		Location: cfg.Warehouse, BaseDir: cfg.LocalFileIOBaseDir, CacheBytes: cfg.MetadataCacheBytes, MaxMetadataBytes: cfg.MaxMetadataFileBytes,
		S3: warehouse.S3Config{Endpoint: cfg.S3.Endpoint, PathStyleAccess: cfg.S3.PathStyleAccess,
			AccessKeyID: cfg.S3.AccessKeyID, SecretAccessKey: cfg.S3.SecretAccessKey, Region: cfg.S3.Region},
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// embeddedEndpoint prefers a running server's etcd; with none answering it
// starts the embedded etcd on the data directory itself.
func (b *Backends) embeddedEndpoint(ctx context.Context, cfg *config.Config, log *slog.Logger) ([]string, error) {
	if raw, err := os.ReadFile(endpointFile(cfg)); err == nil {
		ep := strings.TrimSpace(string(raw))
		cli, err := etcd.Connect(ctx, clientv3.Config{Endpoints: []string{ep}, DialTimeout: 2 * time.Second})
		if err == nil {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err = cli.Get(pctx, "health", clientv3.WithCountOnly())
			cancel()
			if err == nil {
				b.Client = cli
				log.Info("using the running server's embedded etcd", "endpoint", ep)
				return []string{ep}, nil
			}
			cli.Close()
		}
	}
	dir := filepath.Join(cfg.DataDir, "etcd")
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("no catalog here: no etcd data directory %s (and no uri in the config)", dir)
	}
	e, err := etcd.StartEmbedded(ctx, dir, "127.0.0.1:0", log)
	if err != nil {
		return nil, err
	}
	b.embedded = e
	log.Info("started the embedded etcd on its data directory", "dir", dir)
	return []string{e.Endpoint}, nil
}

// Close closes what OpenBackends opened.
func (b *Backends) Close() {
	if b.Warehouse != nil {
		b.Warehouse.Close()
	}
	if b.Client != nil {
		b.Client.Close()
	}
	if b.embedded != nil {
		b.embedded.Close()
	}
}

// PerformMaintenance runs every maintenance job once, as the leader would.
func PerformMaintenance(ctx context.Context, cfg *config.Config, log *slog.Logger, dryRun bool) (*maintenance.Report, error) {
	mcfg, _, _, err := maintenance.FromConfig(cfg)
	if err != nil {
		return nil, err
	}
	mcfg.DryRun = mcfg.DryRun || dryRun
	b, err := OpenBackends(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	rule, err := ice.NewLocationRule(b.Warehouse.Location(), cfg.AllowedLocations)
	if err != nil {
		return nil, err
	}
	svc := service.New(service.Config{Store: etcd.NewStore(b.Client, cfg.Name), Warehouse: b.Warehouse, Log: log, Locations: rule,
		Retry: commitRetry(cfg), Locker: commitLocker(cfg, b.Client, log)})
	jobs, err := maintenance.New(svc, b.Warehouse, mcfg, log, nil)
	if err != nil {
		return nil, err
	}
	rep, err := jobs.RunOnce(ctx)
	if err != nil {
		return rep, err
	}
	if len(rep.Errors) > 0 {
		return rep, errors.New(strings.Join(rep.Errors, "; "))
	}
	return rep, nil
}

// runMaintenance is one scheduled run: the jobs, then the purge of
// soft-dropped entries past their retention, then the run's record for
// the change feed. Its commits name the principal "maintenance".
func runMaintenance(ctx context.Context, jobs *maintenance.Jobs, svc *service.Service, store *etcd.Store, log *slog.Logger,
	record func(rep *maintenance.Report, start time.Time)) error {
	ctx = ice.WithAudit(ctx, ice.Audit{Principal: "maintenance", Operation: "maintenance"})
	run := ice.MaintenanceRun{Started: time.Now().UTC()}
	if host, err := os.Hostname(); err == nil {
		run.Leader = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	start := time.Now()
	rep, err := jobs.RunOnce(ctx)
	record(rep, start)
	if err == nil && len(rep.Errors) > 0 {
		err = fmt.Errorf("%d table(s) failed: %s", len(rep.Errors), strings.Join(rep.Errors, "; "))
	}
	n, perr := svc.PurgeExpired(ctx, time.Now().UTC())
	run.Purged = n
	err = errors.Join(err, perr)
	run.Finished, run.Outcome = time.Now().UTC(), "ok"
	if err != nil {
		run.Outcome, run.Error = "failed", err.Error()
	}
	if rerr := store.RecordMaintenanceRun(ctx, run); rerr != nil {
		log.WarnContext(ctx, "maintenance run not recorded for the change feed", "err", rerr)
	}
	return err
}
