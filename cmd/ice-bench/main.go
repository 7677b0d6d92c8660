// Command ice-bench measures the catalog against its physical baselines: it
// starts an etcd, an S3 server process (versitygw) and the catalog, then
// reports each catalog operation's throughput and latency as a ratio to the
// raw etcd and S3 operations measured in the same run. See
// docs/benchmarks.md. The tools come from scripts/install-tools.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ice-rest-catalog/ice/internal/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ice-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("ice-bench", flag.ContinueOnError)
	conc := fs.String("c", "1,8,32,128", "concurrency levels, comma-separated")
	dur := fs.Duration("d", 3*time.Second, "duration of each point")
	only := fs.String("only", "", "comma-separated parts of workload names to run (e.g. \"etcd get,loadtable 100\"); empty: all")
	embedded := fs.Bool("embedded", false, "run the server in-process on its embedded etcd instead of an external etcd")
	serverEnv := fs.String("server-env", "", "comma-separated KEY=VALUE for the server process, e.g. GOMEMLIMIT=80MiB")
	cacheBytes := fs.Int64("cache-bytes", 0, "the server's metadataCacheBytes (0: its default)")
	rssTables := fs.Int("rss-tables", 10_000, "tables, each with its own metadata file, for the RSS point (0 skips)")
	scale := fs.Int("scale", 0, "tables to write straight into etcd for the scale measurements (e.g. 100000; 0 skips)")
	unpaired := fs.Bool("unpaired", false, "measure each workload alone and divide by its baseline's own point, instead of interleaving the two")
	md := fs.String("md", "docs/benchmarks.md", "markdown file to write the results into (empty: none)")
	chart := fs.String("png", "docs/benchmarks.png", "PNG chart of throughput against concurrency (empty: none)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (with -embedded, the server's too) to this file")
	memProfile := fs.String("memprofile", "", "write an allocation profile of this process at the end (with -embedded, the server's too)")
	serve := fs.String("serve", "", "internal: run the catalog server with this config file (the harness's child process)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if *serve != "" {
		return serveCatalog(ctx, *serve)
	}
	var levels []int
	for _, s := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-c: bad concurrency %q", s)
		}
		levels = append(levels, n)
	}
	var workloads []string
	if *only != "" {
		for _, w := range strings.Split(*only, ",") {
			workloads = append(workloads, strings.TrimSpace(w))
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	var env []string
	if *serverEnv != "" {
		env = strings.Split(*serverEnv, ",")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	rep, err := bench.Run(ctx, bench.Options{Concurrency: levels, Duration: *dur, Workloads: workloads, Embedded: *embedded, ServerEnv: env, CacheBytes: *cacheBytes,
		RSSTables: *rssTables, ScaleTables: *scale, Unpaired: *unpaired, Markdown: *md, Chart: *chart, Log: log})
	if err != nil {
		return err
	}
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			return fmt.Errorf("-memprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return fmt.Errorf("-memprofile: %w", err)
		}
	}
	fmt.Print(bench.Markdown(rep))
	return nil
}
