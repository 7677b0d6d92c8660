// Package maintenance keeps tables healthy over years: it expires old
// snapshots, deletes metadata files that have left a table's log, and
// removes orphan files. The jobs run on a schedule on the one replica that
// etcd elected leader (see Runner), or once with perform-maintenance.
//
// One rule holds for every job: a file is deleted only if no retained
// snapshot and no metadata file still referenced (the table's current
// metadata file and every entry of its metadata log) reaches it. Expiring
// snapshots is an ordinary commit through the service, with requirements, so
// it races with client commits exactly as they race with each other.
package maintenance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/apache/iceberg-go/table"
	"github.com/prometheus/client_golang/prometheus"

	icebergio "github.com/apache/iceberg-go/io"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/service"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// Job names, as perform-maintenance reports them and metrics label them.
const (
	JobExpireSnapshots = "expire-snapshots"
	JobMetadataFiles   = "delete-metadata-files"
	JobOrphanFiles     = "remove-orphan-files"
)

// Defaults of Config, those of Iceberg's table properties and of the Java
// ice-rest-catalog's maintenance settings.
const (
	DefaultMaxSnapshotAge   = 5 * 24 * time.Hour // history.expire.max-snapshot-age-ms
	DefaultMinSnapshots     = 1                  // history.expire.min-snapshots-to-keep
	DefaultOrphanRetention  = 3 * 24 * time.Hour
	maxExpireCommitAttempts = 4
)

// Config says what the jobs keep. A table's own properties
// (history.expire.max-snapshot-age-ms, history.expire.min-snapshots-to-keep,
// history.expire.max-ref-age-ms and a ref's own retention) override the
// first two.
type Config struct {
	MaxSnapshotAge     time.Duration
	MinSnapshotsToKeep int
	// OrphanRetention is how old an unreferenced file must be before it is
	// removed: younger ones may belong to a commit still in flight.
	OrphanRetention time.Duration
	// DryRun lists what would be expired or deleted and changes nothing.
	DryRun bool
	// Jobs, when not nil, names the jobs that run (Job* constants).
	Jobs map[string]bool
	// SkipOrphans turns the orphan job off.
	SkipOrphans bool
	// TargetFileSize is the size data compaction writes and below which a
	// data file is a candidate; a table's write.target-file-size-bytes wins.
	// Default 512 MiB.
	TargetFileSize int64
	// MinInputFiles is how many candidates a partition needs before data
	// compaction rewrites them. Default 5.
	MinInputFiles int
	// CandidateMinAge leaves data files committed more recently than this
	// alone. Default 3h; negative means any age.
	CandidateMinAge time.Duration
}

func (c Config) withDefaults() Config {
	if c.MaxSnapshotAge <= 0 {
		c.MaxSnapshotAge = DefaultMaxSnapshotAge
	}
	if c.MinSnapshotsToKeep <= 0 {
		c.MinSnapshotsToKeep = DefaultMinSnapshots
	}
	if c.OrphanRetention <= 0 {
		c.OrphanRetention = DefaultOrphanRetention
	}
	if c.TargetFileSize <= 0 {
		c.TargetFileSize = DefaultTargetFileSize
	}
	if c.MinInputFiles <= 0 {
		c.MinInputFiles = DefaultMinInputFiles
	}
	switch {
	case c.CandidateMinAge == 0:
		c.CandidateMinAge = DefaultCandidateMinAge
	case c.CandidateMinAge < 0:
		c.CandidateMinAge = 0
	}
	return c
}

// Jobs runs the maintenance jobs over every table of a catalog.
type Jobs struct {
	svc     *service.Service
	wh      *warehouse.Warehouse
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	// beforeCommit, when set (by tests), runs between reading a table and
	// committing its expiry, to let a test race a commit into that gap.
	beforeCommit func(ice.TableIdent)
}

// New returns the jobs. reg may be nil; otherwise the jobs' metrics are
// registered on it.
func New(svc *service.Service, wh *warehouse.Warehouse, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Jobs, error) {
	if log == nil {
		log = slog.Default()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Jobs{svc: svc, wh: wh, cfg: cfg.withDefaults(), log: log, metrics: m}, nil
}

// Metrics returns the jobs' collectors, for the leader gauge of a Runner.
func (j *Jobs) Metrics() *Metrics { return j.metrics }

// Report is what one run did, or with DryRun would do.
type Report struct {
	DryRun  bool          `json:"dryRun"`
	Tables  int           `json:"tables"`
	Results []TableResult `json:"results"`
	Errors  []string      `json:"errors,omitempty"`
}

// TableResult is one job's outcome on one table.
type TableResult struct {
	Job     string   `json:"job"`
	Table   string   `json:"table"`
	Expired []int64  `json:"expiredSnapshots,omitempty"`
	Deleted []string `json:"files,omitempty"` // deleted, or to delete in a dry run
	Skipped string   `json:"skipped,omitempty"`
	// Compaction is what a compaction job rewrote, or would rewrite.
	Compaction *CompactionResult `json:"compaction,omitempty"`
}

// RunOnce runs every job on every table. A failure on one table is logged,
// counted and reported, and the run goes on with the others.
func (j *Jobs) RunOnce(ctx context.Context) (*Report, error) {
	idx, err := j.index(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Report{DryRun: j.cfg.DryRun, Tables: len(idx.tables), Results: []TableResult{}}
	jobs := []struct {
		name string
		fn   func(context.Context, ice.TableIdent, *catalogIndex) (TableResult, error)
	}{
		{JobDataCompaction, func(ctx context.Context, id ice.TableIdent, _ *catalogIndex) (TableResult, error) {
			return j.CompactData(ctx, id)
		}},
		{JobManifestCompaction, func(ctx context.Context, id ice.TableIdent, _ *catalogIndex) (TableResult, error) {
			return j.CompactManifests(ctx, id)
		}},
		{JobExpireSnapshots, func(ctx context.Context, id ice.TableIdent, _ *catalogIndex) (TableResult, error) {
			return j.ExpireSnapshots(ctx, id)
		}},
		{JobMetadataFiles, func(ctx context.Context, id ice.TableIdent, _ *catalogIndex) (TableResult, error) {
			return j.DeleteOldMetadata(ctx, id)
		}},
		{JobOrphanFiles, j.removeOrphans},
	}
	for _, job := range jobs {
		if j.cfg.Jobs != nil && !j.cfg.Jobs[job.name] || job.name == JobOrphanFiles && j.cfg.SkipOrphans {
			continue
		}
		start := time.Now()
		failed := 0
		for _, id := range idx.tables {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			res, err := job.fn(ctx, id, idx)
			if ice.ErrorCode(err) == ice.ENOTFOUND {
				continue // dropped while the run went on
			}
			if err != nil {
				failed++
				rep.Errors = append(rep.Errors, fmt.Sprintf("%s %s: %v", job.name, id, err))
				j.log.WarnContext(ctx, "maintenance job failed on a table", "job", job.name, "table", id.String(), "err", err)
				continue
			}
			if len(res.Expired) > 0 || len(res.Deleted) > 0 || res.Skipped != "" || res.Compaction != nil {
				rep.Results = append(rep.Results, res)
			}
		}
		j.metrics.observeRun(job.name, failed == 0, time.Since(start))
	}
	return rep, nil
}

// catalogIndex is every table of the catalog, and who owns each location
// (tables and views), so that the orphan job never walks into a location
// that another table or view owns.
type catalogIndex struct {
	tables []ice.TableIdent
	owners map[string][]string // normalized location -> "table a.b", "view a.v"
}

// index lists every namespace depth first, with its tables and views.
func (j *Jobs) index(ctx context.Context) (*catalogIndex, error) {
	idx := &catalogIndex{owners: map[string][]string{}}
	var walk func(parent ice.Namespace) error
	walk = func(parent ice.Namespace) error {
		children, _, err := j.svc.ListNamespaces(ctx, parent, ice.Page{})
		if err != nil {
			return fmt.Errorf("list namespaces of %q: %w", parent, err)
		}
		for _, ns := range children {
			tables, _, err := j.svc.ListTables(ctx, ns, ice.Page{})
			if err != nil {
				return fmt.Errorf("list tables of %s: %w", ns, err)
			}
			for _, id := range tables {
				t, err := j.svc.LoadTable(ctx, id)
				if ice.ErrorCode(err) == ice.ENOTFOUND {
					continue // dropped meanwhile
				}
				if err != nil {
					return err
				}
				idx.tables = append(idx.tables, id)
				loc := normalize(t.Metadata.Parsed.Location())
				idx.owners[loc] = append(idx.owners[loc], "table "+id.String())
			}
			views, _, err := j.svc.ListViews(ctx, ns, ice.Page{})
			if err != nil {
				return fmt.Errorf("list views of %s: %w", ns, err)
			}
			for _, id := range views {
				v, err := j.svc.LoadView(ctx, id)
				if ice.ErrorCode(err) == ice.ENOTFOUND {
					continue
				}
				if err != nil {
					return err
				}
				loc := normalize(v.Metadata.Parsed.Location())
				idx.owners[loc] = append(idx.owners[loc], "view "+id.String())
			}
			if err := walk(ns); err != nil {
				return err
			}
		}
		return nil
	}
	return idx, walk(nil)
}

// protected is every file that the table's current metadata file and the
// metadata files of its log reach. A log entry whose file is already gone
// protects nothing more.
func (j *Jobs) protected(ctx context.Context, t *service.Table) (fileSet, icebergio.IO, error) {
	fio, err := j.wh.FileIO(ctx, t.Location)
	if err != nil {
		return nil, nil, err
	}
	r := newReach(fio)
	if err := r.addMetadata(ctx, t.Location, t.Metadata.Parsed, true); err != nil {
		return nil, nil, err
	}
	for e := range t.Metadata.Parsed.PreviousFiles() {
		md, err := j.wh.ReadMetadata(ctx, e.MetadataFile)
		if ice.ErrorCode(err) == ice.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read logged metadata %s: %w", e.MetadataFile, err)
		}
		if err := r.addMetadata(ctx, e.MetadataFile, md.Parsed, false); err != nil {
			return nil, nil, err
		}
	}
	return r.files, fio, nil
}

// deleteUnprotected deletes each candidate not in keep and returns those it
// deleted (or, in a dry run, would delete).
//
// Only files inside the table's location are deleted, whatever reached
// them: tableLocation is checked against the location rule, and each file
// against it, again at the moment of its delete (issue 14).
func (j *Jobs) deleteUnprotected(ctx context.Context, job, tableLocation string, candidates []string, keep fileSet) ([]string, error) {
	tableLoc, err := j.svc.CheckStoredLocation(tableLocation)
	if err != nil {
		j.log.WarnContext(ctx, "nothing deleted: the table location is outside the allowed area", "job", job, "location", tableLocation, "err", err)
		return nil, nil
	}
	var out []string
	var errs []error
	outside := 0
	for _, f := range candidates {
		if keep.has(f) {
			continue
		}
		if ice.CheckPath(tableLoc, f) != nil {
			outside++
			continue
		}
		out = append(out, f)
		if j.cfg.DryRun {
			continue
		}
		if err := j.wh.DeleteIn(ctx, tableLoc, f); err != nil {
			errs = append(errs, err)
			continue
		}
		j.metrics.filesDeleted.WithLabelValues(job).Inc()
	}
	if outside > 0 {
		j.log.WarnContext(ctx, "files outside the table location were left alone", "job", job, "location", tableLocation, "files", outside)
	}
	return out, errors.Join(errs...)
}

// tableOf builds an iceberg-go table whose commits go through the service,
// so iceberg-go's own logic (ExpireSnapshots) computes the updates and
// requirements and our commit path applies them.
func (j *Jobs) tableOf(t *service.Table, commits *serviceCommitter) *table.Table {
	ident := append(append(table.Identifier{}, t.ID.Namespace...), t.ID.Name)
	fsF := func(ctx context.Context) (icebergio.IO, error) { return j.wh.FileIO(ctx, t.Location) }
	return table.New(ident, t.Metadata.Parsed, t.Location, fsF, commits)
}

// serviceCommitter is iceberg-go's CatalogIO on the service: a commit is a
// service.CommitTable with the requirements iceberg-go produced.
type serviceCommitter struct {
	svc *service.Service
	id  ice.TableIdent
	err error // the service's own error of the last commit, unwrapped
}

func (c *serviceCommitter) LoadTable(ctx context.Context, _ table.Identifier) (*table.Table, error) {
	return nil, errors.New("maintenance: reload is done by the job, not by iceberg-go")
}

func (c *serviceCommitter) CommitTable(ctx context.Context, _ table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	t, _, err := c.svc.CommitTable(ctx, service.TableChange{ID: c.id, Requirements: reqs, Updates: updates}, nil)
	c.err = err
	if err != nil {
		// Not wrapped as table.ErrCommitFailed: iceberg-go must not replay
		// the expiry on a newer base; the job recomputes it from scratch.
		return nil, "", fmt.Errorf("commit %s: %w", c.id, err)
	}
	return t.Metadata.Parsed, t.Location, nil
}
