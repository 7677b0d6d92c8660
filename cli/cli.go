// Package cli is the `ice` command-line tool: it loads Parquet files into
// Iceberg tables and inspects and manages a REST catalog. Its commands,
// flags and .ice.yaml keys follow Altinity's Java `ice`, so scripts written
// for one work with the other. The catalog, table and file work is done by
// iceberg-go and arrow-go; this package parses arguments, finds input
// files and prints results.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/ice-rest-catalog/ice/internal/version"
)

// Env is what a command run needs from the outside world; tests build one
// with buffers and a fake environment, main uses the process's.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// IsTerminal reports whether Stderr is a terminal, which turns on the
	// insert progress bar.
	IsTerminal bool

	// watchRetryWait replaces insert --watch's 20 s pause after a failed
	// batch; only tests set it (export_test.go).
	watchRetryWait time.Duration
}

// globals are the flags every command accepts, before or after its name.
type globals struct {
	configPath string
	logLevel   string
	insecure   bool
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.configPath, "c", g.configPath, "`path` to the config (default: $ICE_CONFIG, ./.ice.yaml, $ICE_CONFIG_YAML)")
	fs.StringVar(&g.configPath, "config", g.configPath, "same as -c")
	fs.StringVar(&g.logLevel, "log-level", g.logLevel, "log `level`: debug, info, warn or error")
	fs.BoolVar(&g.insecure, "insecure", g.insecure, "skip TLS certificate verification (development only)")
	fs.BoolVar(&g.insecure, "ssl-no-verify", g.insecure, "same as --insecure")
}

// run is the state one command invocation works with.
type run struct {
	env    Env
	g      globals
	log    *slog.Logger
	cfg    *Config
	stdout io.Writer
	name   string // the command's name and usage, for its -h
	usage  string
}

type command struct {
	usage string // arguments, after the command name
	help  string
	run   func(ctx context.Context, r *run, args []string) error
}

// commands maps each command name to its implementation. The names are the
// Java tool's.
func commands() map[string]command {
	return map[string]command{
		"check":             {"", "check the config and that the catalog answers", cmdCheck},
		"describe":          {"[ns|ns.table] [--json]", "describe the catalog, a namespace or a table", cmdDescribe},
		"list-namespaces":   {"[parent] [--json]", "list namespaces", cmdListNamespaces},
		"list-tables":       {"ns [--json]", "list the tables of a namespace", cmdListTables},
		"files":             {"ns.table [--json]", "list the data files of the current snapshot", cmdFiles},
		"list-snapshots":    {"ns.table [--json]", "list the snapshots of a table", cmdListSnapshots},
		"list-partitions":   {"ns.table [--json]", "list the partitions of a table", cmdListPartitions},
		"describe-parquet":  {"FILE [--json]", "describe a Parquet file: size, rows, row groups, columns", cmdDescribeParquet},
		"describe-metadata": {"FILE [--json]", "describe an Iceberg table metadata file", cmdDescribeMetadata},
		"create-namespace":  {"ns [-p]", "create a namespace (-p: no error if it exists)", cmdCreateNamespace},
		"delete-namespace":  {"ns [-p]", "delete a namespace (-p: no error if it is gone)", cmdDeleteNamespace},
		"create-table":      {"ns.table --schema-from-parquet FILE [--partition JSON] [--sort JSON] [-p]", "create a table with the schema of a Parquet file", cmdCreateTable},
		"alter-table":       {"ns.table JSON", "apply schema and property changes to a table", cmdAlterTable},
		"delete-table":      {"ns.table [--purge] [-p]", "delete a table (--purge: and its files)", cmdDeleteTable},
		"insert":            {"ns.table FILE... [flags]", "add Parquet files to a table in one commit", cmdInsert},
		"scan":              {"ns.table [--limit N] [--snapshot-id ID] [--json]", "print rows of a table", cmdScan},
		"shell":             {"", "read commands from stdin, one a line, and run them", cmdShell},
		"delete":            {"ns.table --partition JSON [--dry-run=false] [--json]", "delete the data files of partitions", cmdDelete},
		"catalog-export":    {"[--namespace ns] [-o FILE]", "export the catalog state (admin endpoint)", cmdCatalogExport},
		"list-deleted":      {"NAMESPACE", "list the soft-dropped tables and views of a namespace", cmdListDeleted},
		"undrop":            {"[--name NEW] NAMESPACE ID", "restore a soft-dropped table or view", cmdUndrop},
		"catalog-import":    {"[FILE|-] [--dry-run] [--overwrite]", "import a catalog state (admin endpoint)", cmdCatalogImport},
	}
}

// Main runs the command line args (without the program name) and returns
// the process exit code: 0 on success, 1 on a failed command, 2 on a usage
// error.
func Main(ctx context.Context, args []string, env Env) int {
	r := &run{env: env, g: globals{logLevel: "info"}, stdout: env.Stdout}
	fs := flag.NewFlagSet("ice", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	r.g.register(fs)
	showVersion := fs.Bool("version", false, "print the version, commit and Go version and exit")
	fs.Usage = func() { usage(env.Stderr, fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *showVersion || (fs.NArg() == 1 && fs.Arg(0) == "version") {
		fmt.Fprintln(env.Stdout, version.Read().String("ice"))
		return 0
	}
	if fs.NArg() == 1 && fs.Arg(0) == "help" {
		usage(env.Stdout, fs)
		return 0
	}
	if fs.NArg() == 0 {
		usage(env.Stderr, fs)
		return 2
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	cmd, ok := commands()[name]
	if !ok {
		fmt.Fprintf(env.Stderr, "ice: unknown command %q\n", name)
		usage(env.Stderr, fs)
		return 2
	}
	r.name, r.usage = name, cmd.usage
	err := cmd.run(ctx, r, rest)
	var ue usageError
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		fmt.Fprintf(env.Stderr, "ice %s: %v\n", name, ee.err)
		return ee.code
	case errors.As(err, &ue):
		if ue.err != nil && !errors.Is(ue.err, flag.ErrHelp) {
			fmt.Fprintf(env.Stderr, "ice %s: %v\n", name, ue.err)
		}
		if errors.Is(ue.err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(env.Stderr, "usage: ice %s %s\n", name, cmd.usage)
		return 2
	default:
		fmt.Fprintf(env.Stderr, "ice %s: %v\n", name, err)
		return 1
	}
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: ice [-c FILE] [--log-level LEVEL] [--insecure] COMMAND [ARGS]\n       ice --help | --version | COMMAND -h")
	fmt.Fprintln(w, "\ncommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %s\n      %s\n", strings.TrimSpace(n+" "+cmds[n].usage), cmds[n].help)
	}
	fmt.Fprintf(w, "  help\n      print this help\n  version\n      print the version (same as --version)\n")
	fmt.Fprintln(w, "\nglobal flags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// exitError ends a command with a chosen exit code, which may be 0 (as
// insert --retry-list-exit-code sets it) after printing err.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks a wrong command line, answered with exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// parse parses a command's flags, which may come before, between or after
// its positional arguments (as picocli allows in the Java tool), plus the
// global flags. It checks the number of positionals and then sets up
// logging and the config.
func (r *run) parse(fs *flag.FlagSet, args []string, minPos, maxPos int) ([]string, error) {
	fs.SetOutput(r.env.Stderr)
	r.g.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(r.env.Stderr, "usage: ice %s %s\n\nflags:\n", r.name, r.usage)
		fs.PrintDefaults()
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{err}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		// flag stops at "--" (consumed) or the first positional.
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) < minPos || (maxPos >= 0 && len(pos) > maxPos) {
		return nil, usagef("wrong number of arguments: %q", pos)
	}
	if err := r.setup(); err != nil {
		return nil, err
	}
	return pos, nil
}

func (r *run) setup() error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(r.g.logLevel)); err != nil {
		return usagef("--log-level %q: want debug, info, warn or error", r.g.logLevel)
	}
	r.log = slog.New(slog.NewTextHandler(r.env.Stderr, &slog.HandlerOptions{Level: lvl}))
	getenv := r.env.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg, err := LoadConfig(r.g.configPath, getenv)
	if err != nil {
		return err
	}
	r.cfg = cfg
	r.log.Debug("config", "source", cfg.Source, "uri", cfg.URI)
	return nil
}

// splitName splits "a.b.c" into its parts; every part must be non-empty.
func splitName(s string) ([]string, error) {
	parts := strings.Split(s, ".")
	for _, p := range parts {
		if p == "" {
			return nil, usagef("invalid name %q: empty part", s)
		}
	}
	return parts, nil
}

// tableIdent splits "ns.table" (or "a.b.table") into namespace and table.
func tableIdent(s string) ([]string, error) {
	parts, err := splitName(s)
	if err != nil {
		return nil, err
	}
	if len(parts) < 2 {
		return nil, usagef("invalid table name %q: want namespace.table", s)
	}
	return parts, nil
}
