// Package server wires the catalog together from a Config: etcd (external
// or embedded), the warehouse, the service, the API and the debug listener.
// main and the tests both start servers through it.
package server

import (
	ice "github.com/ice-rest-catalog/ice"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/console"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/metrics"
	"github.com/ice-rest-catalog/ice/rest"
	"github.com/ice-rest-catalog/ice/service"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// Server is a running catalog.
type Server struct {
	log       *slog.Logger
	embedded  *etcd.Embedded
	cli       *clientv3.Client
	wh        *warehouse.Warehouse
	api, dbg  *http.Server
	apiLn     net.Listener
	dbgLn     net.Listener
	serveErrs chan error
	maint     *maintenanceLoop    // scheduled maintenance, see maintenance.go
	console   *console.Management // nil with the console off: console.go
	events    *eventLoop          // event delivery, see events.go
	// closing ends the event streams when the server drains.
	closing     chan struct{}
	closingOnce sync.Once
	life        *lifecycle
	stopBg      context.CancelFunc // background work: the location backfill
}

// Option changes how Start builds the server, for what a config file must
// not control.
type Option func(*options)

type options struct {
	wrapAPI func(http.Handler) http.Handler
}

// WrapAPI puts fn's handler in front of the API, so tests can check every
// request and answer (against the OpenAPI spec, say).
func WrapAPI(fn func(http.Handler) http.Handler) Option {
	return func(o *options) { o.wrapAPI = fn }
}

// Start builds the catalog and starts serving; it returns once both
// listeners are bound.
func Start(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) (_ *Server, err error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s := &Server{log: log, serveErrs: make(chan error, 2), life: &lifecycle{}}
	defer func() {
		if err != nil {
			if s.dbg != nil {
				s.dbg.Close()
			}
			s.closeBackends()
		}
	}()

	// A bad security config fails before etcd is started or dialled.
	if _, err := newSecurity(ctx, cfg, nil, log); err != nil {
		return nil, err
	}
	for _, k := range cfg.Ignored() {
		log.Warn("config key accepted for compatibility with the Java ice-rest-catalog but not acted on", "key", k.Key, "reason", k.Reason)
	}

	// The debug listener comes first, so that probes get answers (live, not
	// ready) while start-up waits for etcd.
	m := metrics.New()
	waiting := "etcd"
	s.life.waiting.Store(&waiting)
	if s.dbgLn, err = net.Listen("tcp", cfg.DebugAddr); err != nil {
		return nil, fmt.Errorf("listen on debugAddr %s: %w", cfg.DebugAddr, err)
	}
	s.dbg = &http.Server{Handler: debugHandler(s.life, m), ReadHeaderTimeout: 10 * time.Second}
	go s.serve(s.dbg, s.dbgLn)

	endpoints := cfg.EtcdEndpoints()
	if endpoints == nil {
		s.embedded, err = etcd.StartEmbedded(ctx, filepath.Join(cfg.DataDir, "etcd"), "127.0.0.1:0", log)
		if err != nil {
			return nil, err
		}
		endpoints = []string{s.embedded.Endpoint}
	}
	etcdCfg := clientv3.Config{Endpoints: endpoints}
	if s.embedded == nil {
		if etcdCfg, err = etcdClientConfig(cfg, endpoints); err != nil {
			return nil, err
		}
	}
	etcdCfg.Context = context.WithoutCancel(ctx)
	s.cli, err = etcd.Connect(ctx, etcdCfg)
	if err != nil {
		return nil, err
	}
	if err := waitForEtcd(ctx, s.cli, endpoints, log, s.life); err != nil {
		return nil, err
	}
	sec, err := newSecurity(ctx, cfg, s.cli, log)
	if err != nil {
		return nil, err
	}
	s.wh, err = warehouse.Open(ctx, warehouse.Config{
		Location:   cfg.Warehouse,
		BaseDir:    cfg.LocalFileIOBaseDir,
		CacheBytes: cfg.MetadataCacheBytes, MaxMetadataBytes: cfg.MaxMetadataFileBytes,
		S3: warehouse.S3Config{Endpoint: cfg.S3.Endpoint, PathStyleAccess: cfg.S3.PathStyleAccess,
			AccessKeyID: cfg.S3.AccessKeyID, SecretAccessKey: cfg.S3.SecretAccessKey, Region: cfg.S3.Region},
	})
	if err != nil {
		return nil, err
	}
	m.WatchCache(func() metrics.CacheStats {
		st := s.wh.CacheStats()
		return metrics.CacheStats{Hits: st.Hits, Misses: st.Misses, Evictions: st.Evictions, Bytes: st.Bytes, MaxBytes: st.MaxBytes, Entries: st.Entries}
	})

	store := etcd.NewStore(s.cli, cfg.Name)
	rule, err := ice.NewLocationRule(s.wh.Location(), cfg.AllowedLocations)
	if err != nil {
		return nil, err
	}
	limits := cfg.Limits.WithDefaults()
	svc := service.New(service.Config{Store: store, Warehouse: s.wh, Log: log, Metrics: m, Locations: rule,
		MaxNamespacePropertiesBytes: limits.MaxNamespacePropertiesBytes,
		Retry:                       commitRetry(cfg), Locker: commitLocker(cfg, s.cli, log),
		Deleted: store, SoftDrop: service.SoftDrop{Enabled: cfg.SoftDrop.Enabled, Retention: cfg.SoftDrop.RetentionDuration()}})
	feed := svc.NewFeed(store)
	s.closing = make(chan struct{})
	tableCfg, vendedCfg := tableConfig(cfg)
	vendor, signer, err := storageAccess(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	api := rest.New(rest.Config{Service: svc, Auth: sec.authn, Log: log, Metrics: m,
		TableConfig: tableCfg, VendedConfig: vendedCfg, MaxBodyBytes: cfg.MaxRequestBodyBytes,
		Authz: sec.authz, OAuth: sec.oauth, Admin: store,
		Idempotency: store, IdempotencyKeyLifetime: cfg.IdempotencyKeyLifetimeDuration(),
		Planner: newPlanner(cfg, svc, store, log),
		Feed:    feed, EventSource: eventSource(cfg), Closing: s.closing,
		Limits: rest.Limits{MaxRequestsInFlight: limits.MaxRequestsInFlight, MaxEventStreams: limits.MaxEventStreams,
			IdempotencyMaxRecordBytes: limits.IdempotencyMaxRecordBytes, IdempotencyKeysPerPrincipal: limits.IdempotencyKeysPerPrincipal,
			TokenRequestsPerSecond: limits.TokenRequestsPerSecond, TokenRequestBurst: limits.TokenRequestBurst},
		Vendor: vendor, Signer: signer, SignerURI: cfg.RemoteSigning.SignerURI,
		Routes: s.consoleRoutes(cfg, svc, sec, m, endpoints)})

	if err := s.startMaintenance(cfg, svc, store, m); err != nil {
		return nil, err
	}
	if err := s.startEvents(ctx, cfg, feed, store, m); err != nil {
		return nil, err
	}
	s.writeEndpointFile(cfg)

	var apiHandler http.Handler = api
	if o.wrapAPI != nil {
		apiHandler = o.wrapAPI(api)
	}
	apiHandler = withConsole(cfg, sec, apiHandler)

	if s.apiLn, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("listen on addr %s: %w", cfg.Addr, err)
	}
	to := cfg.Timeouts.WithDefaults()
	s.api = &http.Server{Handler: apiHandler, ReadHeaderTimeout: to.ReadHeaderTimeout, ReadTimeout: to.ReadTimeout,
		WriteTimeout: to.WriteTimeout, IdleTimeout: to.IdleTimeout, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if cfg.TLS.Enabled() {
		certs, err := newCertReloader(cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.TLS.ReloadCheckInterval, log)
		if err != nil {
			s.apiLn.Close()
			return nil, err
		}
		s.api.TLSConfig = certs.tlsConfig()
	}
	go s.serveAPI()
	s.logConsole(cfg)
	s.life.serve(s.cli, s.wh)
	s.backfillLocations(svc)
	return s, nil
}

// backfillLocations claims, in the background, the locations of entries
// that the Java server (or catalog-import) wrote without a claim in the
// location index, so the overlap rule sees them (service.BackfillLocations).
func (s *Server) backfillLocations(svc *service.Service) {
	ctx, cancel := context.WithCancel(context.Background())
	s.stopBg = cancel
	go func() {
		rep, err := svc.BackfillLocations(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("location index backfill stopped", "err", err)
			return
		}
		if rep.Indexed+rep.Refused+rep.Failed > 0 {
			s.log.Info("location index backfill", "indexed", rep.Indexed, "refused", rep.Refused, "failed", rep.Failed)
		}
	}()
}

// serveAPI serves HTTPS only when TLS is configured: a plain HTTP request
// then gets 400 from net/http.
func (s *Server) serveAPI() {
	var err error
	if s.api.TLSConfig != nil {
		err = s.api.ServeTLS(s.apiLn, "", "")
	} else {
		err = s.api.Serve(s.apiLn)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.serveErrs <- err
	}
}

func (s *Server) serve(srv *http.Server, ln net.Listener) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.serveErrs <- err
	}
}

// Addr is the API's bound address.
func (s *Server) Addr() string { return s.apiLn.Addr().String() }

// DebugAddr is the health and metrics listener's bound address.
func (s *Server) DebugAddr() string { return s.dbgLn.Addr().String() }

// EtcdEndpoint is the embedded etcd's client URL, or "" with an external etcd.
func (s *Server) EtcdEndpoint() string {
	if s.embedded == nil {
		return ""
	}
	return s.embedded.Endpoint
}

// Err delivers a listener's fatal error.
func (s *Server) Err() <-chan error { return s.serveErrs }

// Shutdown drains: /readyz fails from now on, the API stops accepting
// connections and requests in flight finish until ctx ends (the grace
// period); those still running then are cut. The debug listener goes last,
// so probes see the drain. Then it closes etcd and storage clients and the
// embedded etcd.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.stopBg != nil {
		s.stopBg()
	}
	s.life.drain()
	grace := "none"
	if dl, ok := ctx.Deadline(); ok {
		grace = time.Until(dl).Round(time.Millisecond).String()
	}
	s.log.Info("draining: readiness fails, new connections refused, requests in flight finishing", "gracePeriod", grace)
	s.closingOnce.Do(func() { close(s.closing) }) // event streams end; clients reconnect elsewhere
	err := s.api.Shutdown(ctx)
	if err != nil {
		s.log.Warn("grace period over: closing requests still in flight", "err", err)
		s.api.Close()
	}
	if derr := s.dbg.Shutdown(ctx); derr != nil {
		s.dbg.Close()
		err = errors.Join(err, derr)
	}
	s.closeBackends()
	return err
}

func (s *Server) closeBackends() {
	s.stopMaintenance()
	s.stopEvents()
	if s.wh != nil {
		s.wh.Close()
	}
	if s.cli != nil {
		s.cli.Close()
	}
	if s.embedded != nil {
		s.embedded.Close()
	}
}

// tableConfig is what loadTable answers in "config": how to reach storage,
// plus loadTableProperties; and, for vended-credentials requests, the static
// keys when the config explicitly allows handing them out.
func tableConfig(cfg *config.Config) (base, vended map[string]string) {
	base = map[string]string{}
	if cfg.S3.Endpoint != "" {
		base["s3.endpoint"] = cfg.S3.Endpoint
	}
	if cfg.S3.PathStyleAccess {
		base["s3.path-style-access"] = "true"
	}
	if cfg.S3.Region != "" {
		base["s3.region"] = cfg.S3.Region
		base["client.region"] = cfg.S3.Region
	}
	for k, v := range cfg.LoadTableProperties {
		base[k] = v
	}
	if ep, ok := base["s3.endpoint"]; ok {
		base["s3.endpoint"] = clientEndpoint(ep)
	}
	vended = map[string]string{}
	if cfg.VendedCredentials.StaticKeys && cfg.S3.AccessKeyID != "" {
		vended["s3.access-key-id"] = cfg.S3.AccessKeyID
		vended["s3.secret-access-key"] = cfg.S3.SecretAccessKey
	}
	return base, vended
}

// clientEndpoint is the s3.endpoint handed to clients: the configured
// endpoint with exactly one trailing "/" after its host or path.
//
// ClickHouse (26.5 and 26.7) turns a table's metadata-location into a key
// relative to the table by cutting "<s3.endpoint><bucket>/" off the full
// URL it builds; without the slash the cut misses and it asks S3 for the
// table path written twice (docs/clients.md, "s3.endpoint"). Every other
// client (iceberg-go, the AWS SDKs, PyIceberg, Java's S3FileIO) parses the
// value as a URL, where the trailing slash is the same root path.
func clientEndpoint(ep string) string {
	if ep == "" {
		return ep
	}
	return strings.TrimRight(ep, "/") + "/"
}
