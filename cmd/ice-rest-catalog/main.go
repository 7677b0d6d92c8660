// Command ice-rest-catalog serves an Apache Iceberg REST catalog whose state
// lives in etcd. With no configuration it runs on its embedded default.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/version"
	"github.com/ice-rest-catalog/ice/server"
)

// subcommands are every command besides serving, in the order --help lists
// them.
var subcommands = []struct {
	name, args, help string
	run              func(args []string) error
}{
	{"check-config", "FILE", "check a config file as start-up would; print every problem with its line", func(a []string) error { return checkConfig(a, os.Stdout) }},
	{"demo", "[--addr A] [--data-dir DIR] [--s3-endpoint URL ...]", "serve the embedded default, loaded with a small generated data set (README: Quick start)", demoMain},
	{"backup", "--out FILE [-c FILE]", "write an etcd snapshot of the catalog (docs/backup.md)", backup},
	{"perform-maintenance", "[--dry-run] [-c FILE]", "run the maintenance jobs once and print what they did as JSON", performMaintenance},
	{"hash-secret", "[--bcrypt]", "read an OAuth client secret on stdin and print its secretHash", func(a []string) error { return hashSecret(a, os.Stdin, os.Stdout) }},
	{"help", "", "print this help", nil},
	{"version", "", "print the version, commit and Go version (same as --version)", nil},
}

// usageError is a wrong command line: exit status 2, with the usage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	os.Exit(Main(os.Args[1:]))
}

// Main runs the command line and returns the exit status: 0, 1 when the
// command failed, 2 for a wrong command line.
func Main(args []string) int {
	err := run(args)
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "ice-rest-catalog:", err)
		usage(os.Stderr, serveFlags(new(serveOpts)))
		return 2
	default:
		fmt.Fprintln(os.Stderr, "ice-rest-catalog:", err)
		return 1
	}
}

type serveOpts struct {
	cfgPath, logLevel string
	version           bool
}

func serveFlags(o *serveOpts) *flag.FlagSet {
	fs := flag.NewFlagSet("ice-rest-catalog", flag.ContinueOnError)
	fs.StringVar(&o.cfgPath, "c", "", "config `FILE` (also --config); without one: $ICE_REST_CATALOG_CONFIG, ./.ice-rest-catalog.yaml, $ICE_REST_CATALOG_CONFIG_YAML, else the embedded default")
	fs.StringVar(&o.cfgPath, "config", "", "config `FILE`")
	fs.StringVar(&o.logLevel, "log-level", envOr("ICE_LOG_LEVEL", "info"), "`LEVEL`: debug, info, warn or error (also $ICE_LOG_LEVEL)")
	fs.BoolVar(&o.version, "version", false, "print the version, commit and Go version and exit")
	fs.SetOutput(io.Discard)
	return fs
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `usage: ice-rest-catalog [-c FILE] [--log-level LEVEL]   serve the catalog (no config: the embedded default)
       ice-rest-catalog COMMAND [ARGS]
       ice-rest-catalog --help | --version

commands:
`)
	for _, s := range subcommands {
		fmt.Fprintf(w, "  %-42s %s\n", strings.TrimSpace(s.name+" "+s.args), s.help)
	}
	fmt.Fprintln(w, "\nflags (the commands that read a config take -c, --config and --log-level too):")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

func run(args []string) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		for _, s := range subcommands {
			if s.name != args[0] {
				continue
			}
			switch s.name {
			case "help":
				usage(os.Stdout, serveFlags(new(serveOpts)))
				return nil
			case "version":
				fmt.Println(version.Read().String("ice-rest-catalog"))
				return nil
			}
			return s.run(args[1:])
		}
		return usageError{fmt.Errorf("unknown command %q (a config file goes after -c)", args[0])}
	}
	var o serveOpts
	fs := serveFlags(&o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(os.Stdout, fs)
			return flag.ErrHelp
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q (a config file goes after -c)", fs.Arg(0))}
	}
	if o.version {
		fmt.Println(version.Read().String("ice-rest-catalog"))
		return nil
	}
	log, err := newLogger(o.logLevel)
	if err != nil {
		return err
	}
	applyMemoryLimit(os.Getenv, os.ReadFile, log)
	cfg, source, err := config.Find(o.cfgPath, os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	srv, err := server.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	announce(log, cfg, source, srv)
	return serveUntilStopped(ctx, log, cfg, srv)
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Errorf("--log-level: %w", err)}
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

func announce(log *slog.Logger, cfg *config.Config, source config.Source, srv *server.Server) {
	if source == config.SourceNone {
		log.Info(fmt.Sprintf("no config found: running on the embedded default: embedded etcd with its data in %s/etcd, warehouse %s, listening on %s with anonymous read-write access",
			cfg.DataDir, cfg.Warehouse, srv.Addr()))
	}
	log.Info("ice-rest-catalog serving", "config", string(source), "addr", srv.Addr(), "debugAddr", srv.DebugAddr(),
		"etcd", strings.Join(etcdDesc(cfg, srv), ","), "warehouse", cfg.Warehouse, "catalog", cfg.Name)
}

// serveUntilStopped serves until SIGTERM/SIGINT or a listener fails, then
// drains within the grace period.
func serveUntilStopped(ctx context.Context, log *slog.Logger, cfg *config.Config, srv *server.Server) error {
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
