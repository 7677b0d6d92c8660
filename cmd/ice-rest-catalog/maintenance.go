package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/server"
)

// subcommand parses the flags every subcommand shares (--config,
// --log-level) plus its own, and loads the config as the server does.
func subcommand(name string, args []string, own func(fs *flag.FlagSet)) (*config.Config, *slog.Logger, error) {
	var cfgPath, logLevel string
	fs := flag.NewFlagSet("ice-rest-catalog "+name, flag.ContinueOnError)
	fs.StringVar(&cfgPath, "c", "", "config file (also --config)")
	fs.StringVar(&cfgPath, "config", "", "config file")
	fs.StringVar(&logLevel, "log-level", envOr("ICE_LOG_LEVEL", "info"), "debug, info, warn or error")
	own(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, err
		}
		return nil, nil, usageError{fmt.Errorf("%s: %w", name, err)}
	}
	if fs.NArg() > 0 {
		return nil, nil, usageError{fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))}
	}
	log, err := newLogger(logLevel)
	if err != nil {
		return nil, nil, err
	}
	cfg, _, err := config.Find(cfgPath, os.Getenv)
	return cfg, log, err
}

// performMaintenance runs the maintenance jobs once over every table and
// prints what they did (or, with --dry-run, would do) as JSON on stdout.
func performMaintenance(args []string) error {
	var dryRun bool
	cfg, log, err := subcommand("perform-maintenance", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&dryRun, "dry-run", false, "list what would be expired or deleted; change nothing")
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	rep, runErr := server.PerformMaintenance(ctx, cfg, log, dryRun)
	if rep != nil {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	}
	return runErr
}
