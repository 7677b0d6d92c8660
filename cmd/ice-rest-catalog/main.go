// Command ice-rest-catalog serves an Apache Iceberg REST catalog whose state
// lives in etcd. With no configuration it runs on its embedded default.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/server"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "hash-secret" {
		os.Exit(hashSecretMain())
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ice-rest-catalog:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) > 1 && os.Args[1] == "perform-maintenance" {
		return performMaintenance(os.Args[2:])
	}
	if len(os.Args) > 1 && os.Args[1] == "backup" {
		return backup(os.Args[2:])
	}
	if len(os.Args) > 1 && os.Args[1] == "check-config" {
		return checkConfig(os.Args[2:], os.Stdout)
	}
	var cfgPath, logLevel string
	fs := flag.NewFlagSet("ice-rest-catalog", flag.ContinueOnError)
	fs.StringVar(&cfgPath, "c", "", "config file (also --config)")
	fs.StringVar(&cfgPath, "config", "", "config file")
	fs.StringVar(&logLevel, "log-level", envOr("ICE_LOG_LEVEL", "info"), "debug, info, warn or error")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	applyMemoryLimit(os.Getenv, os.ReadFile, log)

	cfg, source, err := config.Find(cfgPath, os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	srv, err := server.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	if source == config.SourceNone {
		log.Info(fmt.Sprintf("no config found: running on the embedded default: embedded etcd with its data in %s/etcd, warehouse %s, listening on %s with anonymous read-write access",
			cfg.DataDir, cfg.Warehouse, srv.Addr()))
	}
	log.Info("ice-rest-catalog serving", "config", string(source), "addr", srv.Addr(), "debugAddr", srv.DebugAddr(),
		"etcd", strings.Join(etcdDesc(cfg, srv), ","), "warehouse", cfg.Warehouse, "catalog", cfg.Name)

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-srv.Err():
		log.Error("listener failed; shutting down", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGracePeriod)
	defer cancel()
	return srv.Shutdown(sctx)
}

func etcdDesc(cfg *config.Config, srv *server.Server) []string {
	if e := cfg.EtcdEndpoints(); e != nil {
		return e
	}
	return []string{"embedded " + srv.EtcdEndpoint()}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
