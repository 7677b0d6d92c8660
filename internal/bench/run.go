// Package bench is the catalog's benchmark harness: it starts etcd, an S3
// server process and the catalog, measures the catalog's operations and the
// raw etcd and S3 operations they are built on in the same run, and reports
// each as a ratio to its baseline. cmd/ice-bench is its command.
package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"
)

// Options select what a run measures.
type Options struct {
	Concurrency []int
	Duration    time.Duration // per point
	Workloads   []string      // substrings of workload names; empty: all
	Embedded    bool          // the server on its embedded etcd, in-process
	ServerEnv   []string      // KEY=VALUE for the server process (GOMEMLIMIT, say)
	CacheBytes  int64         // the server's metadataCacheBytes; 0: its default
	RSSTables   int           // tables (each with its own metadata file) for the RSS point; 0 skips
	ScaleTables int           // tables written straight into etcd for the scale section; 0 skips
	Unpaired    bool          // ratios against the baselines' own points, not interleaved slices
	Markdown    string        // file whose "## Catalog server" results are replaced; "" skips
	Chart       string        // PNG path; "" skips
	Log         *slog.Logger
}

// Report is what a run measured.
type Report struct {
	Options    Options
	Started    time.Time
	Load       string // /proc/loadavg at the start and at the end
	Ready      time.Duration
	Restart    time.Duration // ready after the restart before the RSS point
	Points     []Point
	PeakRSS    map[string]int64 // server VmHWM after each workload's points
	MetaSize   [2]int           // metadata bytes with 100 and 10,000 snapshots
	DB         dbFigures
	Scale      *scaleFigures
	EtcdTarget string
}

type runner struct {
	opt Options
	log *slog.Logger
	e   *env
	s   *stack
	f   fixture
	rep *Report
}

// order is the order workloads run in: baselines first so a reader sees
// what the machine can do before what the catalog does with it.
var order = []string{wEtcdGet, wEtcdRange, wEtcdTxn, wS3Get4k, wS3Put4k, wS3GetMd, wS3PutMd, wRawLoop, wRawLoop4,
	wLoad100, wLoadStale, wLoad10k, wList1k, wCreate, wCommit1, wCommit64, wMulti}

// Run starts the stack, measures, writes the outputs and stops the stack.
func Run(ctx context.Context, opt Options) (rep *Report, err error) {
	e, err := newEnv(opt.Log)
	if err != nil {
		return nil, err
	}
	defer e.close()
	defer func() {
		if p := recover(); p != nil {
			f, ok := p.(fatal)
			if !ok {
				panic(p)
			}
			err = errors.New(f.msg)
		}
	}()
	rep = &Report{Options: opt, Started: time.Now().UTC(), Load: loadAvg(), PeakRSS: map[string]int64{}}
	s, err := startStack(ctx, e, !opt.Embedded, opt.ServerEnv, opt.CacheBytes)
	if err != nil {
		return nil, err
	}
	rep.Ready = s.ready
	rep.EtcdTarget = "external etcd (single member, pinned binary), server as a child process"
	if opt.Embedded {
		rep.EtcdTarget = "embedded etcd, server in-process (RSS includes the harness)"
	}
	opt.Log.Info("stack ready", "server ready after", s.ready, "etcd", s.etcdEndpoint, "s3", s.s3.Endpoint)
	r := &runner{opt: opt, log: opt.Log, e: e, s: s, rep: rep}
	if err := r.setup(ctx); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	rep.MetaSize = [2]int{r.f.size100, r.f.size10k}
	for _, name := range order {
		if !r.selected(name) {
			continue
		}
		if err := r.workload(ctx, name); err != nil {
			return nil, err
		}
	}
	if r.selected(wCommit64) {
		if err := r.dbGrowth(ctx); err != nil {
			return nil, err
		}
	}
	if rep.DB.Commits > 0 {
		rep.DB.PerCommit = float64(rep.DB.Bytes) / float64(rep.DB.Commits)
		rep.DB.RevsPerCommit = float64(rep.DB.Revisions) / float64(rep.DB.Commits)
	}
	if opt.RSSTables > 0 && r.selected(wLoadMany) {
		if err := r.rssPoint(ctx); err != nil {
			return nil, err
		}
	}
	if opt.ScaleTables > 0 {
		if rep.Scale, err = r.scale(ctx); err != nil {
			return nil, err
		}
	}
	rep.Load += " → " + loadAvg()
	if opt.Markdown != "" {
		if err := writeMarkdown(opt.Markdown, rep); err != nil {
			return rep, err
		}
	}
	if opt.Chart != "" {
		if err := writeChart(opt.Chart, rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (r *runner) selected(name string) bool {
	if len(r.opt.Workloads) == 0 {
		return true
	}
	return slices.ContainsFunc(r.opt.Workloads, func(w string) bool { return containsFold(name, w) })
}

// dbGrowth measures etcd's growth per table commit: commits spread over
// 64 tables, alone (a paired point would add its baseline's writes), at
// 8 concurrent; each table a commit changes is one append (snapID counts
// them).
func (r *runner) dbGrowth(ctx context.Context) error {
	fn, err := r.ops(ctx, wCommit64, 8)
	if err != nil {
		return fmt.Errorf("%s: %w", wCommit64, err)
	}
	before, err := r.dbSize(ctx)
	if err != nil {
		return err
	}
	appends := r.f.snapID.Load()
	p := measure(ctx, wCommit64, 8, r.opt.Duration, fn)
	after, err := r.dbSize(ctx)
	if err != nil {
		return err
	}
	r.log.Info("etcd growth: "+p.String(), "bytes", after.size-before.size, "revisions", after.rev-before.rev)
	r.rep.DB.Bytes += after.size - before.size
	r.rep.DB.Revisions += after.rev - before.rev
	r.rep.DB.Commits += r.f.snapID.Load() - appends
	return nil
}

func (r *runner) workload(ctx context.Context, name string) error {
	for _, c := range r.opt.Concurrency {
		fn, err := r.ops(ctx, name, c)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		var p Point
		if bl, ok := baselineOf[name]; ok && !r.opt.Unpaired {
			base, err := r.ops(ctx, bl, c)
			if err != nil {
				return fmt.Errorf("%s: %w", bl, err)
			}
			p = measurePaired(ctx, name, bl, c, r.opt.Duration, fn, base)
			r.log.Info(p.String() + " | paired " + p.Paired.String())
		} else {
			p = measure(ctx, name, c, r.opt.Duration, fn)
			r.log.Info(p.String())
		}
		r.rep.Points = append(r.rep.Points, p)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	_, peak := r.s.rss()
	r.rep.PeakRSS[name] = peak
	r.log.Info("server memory after "+name, "peak rss", peak, "go", r.s.goMem(ctx))
	return nil
}

// rssPoint loads random tables out of RSSTables, each with its own metadata
// file, so the metadata cache is under pressure as in a real catalog.
func (r *runner) rssPoint(ctx context.Context) error {
	n := r.opt.RSSTables
	raw, err := buildMetadata("s3://"+bucket+"/wh/many", 10)
	if err != nil {
		return err
	}
	r.log.Info("placing metadata files for the RSS point", "tables", n)
	defer func() {
		if r.s.proc != nil {
			r.log.Info("RSS point", "restart ready after", r.rep.Restart, "peak rss", r.rep.PeakRSS[wLoadMany])
		}
	}()
	if err := parallel(n, 32, func(i int) error {
		return r.s.s3Put(ctx, fmt.Sprintf("wh/many/%s/metadata/00000.metadata.json", tableName(i)), raw)
	}); err != nil {
		return fmt.Errorf("place metadata: %w", err)
	}
	if err := r.s.bulkTables(ctx, "many", n, "", func(i int) string {
		return fmt.Sprintf("s3://%s/wh/many/%s/metadata/00000.metadata.json", bucket, tableName(i))
	}); err != nil {
		return err
	}
	// A fresh server process, so its peak RSS is this point's alone and
	// not the setup's (parsing the 10,000-snapshot file, say).
	if r.s.proc != nil {
		start := time.Now()
		r.s.proc.Restart(r.e)
		if err := r.s.waitReady(ctx, 30*time.Second); err != nil {
			return err
		}
		r.rep.Restart = time.Since(start)
	}
	return r.workload(ctx, wLoadMany)
}

func loadAvg() string {
	b, err := readFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return string(firstFields(b, 3))
}

// randomTable picks one of n bulk-written tables.
func randomTable(n int) string { return tableName(rand.IntN(n)) }
