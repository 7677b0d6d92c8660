package maintenance

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/table/compaction"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/service"
)

// Job names of the compaction jobs (DATA_COMPACTION, MANIFEST_COMPACTION).
const (
	JobDataCompaction     = "data-compaction"
	JobManifestCompaction = "manifest-compaction"
)

// Defaults of the compaction settings, those of Java ice's maintenance
// config.
const (
	DefaultTargetFileSize  = 512 << 20 // maintenance.targetFileSizeMB: 512
	DefaultMinInputFiles   = 5         // maintenance.minInputFiles
	DefaultCandidateMinAge = 3 * time.Hour
	// PropCompactionEnabled, set to false on a table, keeps both compaction
	// jobs off it.
	PropCompactionEnabled = "ice.maintenance.compaction.enabled"
	// maxCompactionAttempts bounds how often a compaction is planned again
	// after concurrent commits kept conflicting with it.
	maxCompactionAttempts = 3
)

// CompactionResult is what a compaction did, or with DryRun would do, on
// one table.
type CompactionResult struct {
	Groups      int      `json:"groups"`               // bins rewritten, each within one partition
	InputFiles  int      `json:"inputFiles"`           // data files (or manifests) replaced
	InputBytes  int64    `json:"inputBytes"`           // their size
	OutputFiles int      `json:"outputFiles"`          // written, or estimated in a dry run
	OutputBytes int64    `json:"outputBytes"`          // written, or estimated in a dry run
	Conflicts   int      `json:"conflicts,omitempty"`  // plans dropped because a commit conflicted
	Files       []string `json:"inputPaths,omitempty"` // the files to replace, in a dry run
	TargetBytes int64    `json:"targetFileSizeBytes"`  // the target used
	MinAge      string   `json:"candidateMinAge"`      // files younger than this were left alone
	Partitions  []string `json:"partitions,omitempty"` // partition keys of the groups, in a dry run
	Snapshot    int64    `json:"snapshotId,omitempty"` // the replace snapshot committed
	GaveUp      string   `json:"gaveUp,omitempty"`     // why the rewrite was abandoned
}

// targetFileSize is the table's write.target-file-size-bytes, else the
// configured target.
func (j *Jobs) targetFileSize(props iceberg.Properties) int64 {
	if v, err := strconv.ParseInt(props[table.WriteTargetFileSizeBytesKey], 10, 64); err == nil && v > 0 {
		return v
	}
	return j.cfg.TargetFileSize
}

func compactionDisabled(props iceberg.Properties) bool {
	v, ok := props[PropCompactionEnabled]
	if !ok {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err == nil && !b
}

// CompactData bin-packs the table's small data files: per partition, the
// files smaller than the target size that were committed at least
// CandidateMinAge ago are merged, once there are MinInputFiles of them, into
// files of about the target size, read with iceberg-go (position and
// equality deletes applied, so no deleted row comes back) and written with
// its writer. All groups are committed as one replace snapshot through the
// service. If a client commits in between, iceberg-go reloads the table,
// checks the rewrite against what was committed meanwhile (a new delete
// touching a rewritten file is a conflict) and replays it on top, keeping
// the client's files; if it still conflicts, the job plans again from the
// new state, and gives up after maxCompactionAttempts. The replaced files
// stay until snapshot expiry and orphan cleanup remove them, so time travel
// to an older snapshot keeps working until that snapshot expires.
func (j *Jobs) CompactData(ctx context.Context, id ice.TableIdent) (TableResult, error) {
	return j.compactLoop(ctx, id, JobDataCompaction, j.dataCompaction)
}

// dataCompaction plans CompactData on the table as loaded.
func (j *Jobs) dataCompaction(ctx context.Context, _ ice.TableIdent, tbl *table.Table, cr *CompactionResult) (*compactStep, error) {
	target := j.targetFileSize(tbl.Metadata().Properties())
	cr.TargetBytes, cr.MinAge = target, j.cfg.CandidateMinAge.String()
	plan, err := j.planDataCompaction(ctx, tbl, target)
	if err != nil {
		return nil, err
	}
	if len(plan.Groups) == 0 {
		return nil, nil
	}
	cr.Groups, cr.InputFiles, cr.InputBytes = len(plan.Groups), 0, 0
	groups := make([]table.CompactionTaskGroup, 0, len(plan.Groups))
	cr.Files, cr.Partitions = nil, nil
	for _, g := range plan.Groups {
		groups = append(groups, table.CompactionTaskGroup{PartitionKey: g.PartitionKey, Tasks: g.Tasks, TotalSizeBytes: g.TotalSizeBytes})
		cr.InputFiles += len(g.Tasks)
		cr.InputBytes += g.TotalSizeBytes
		if j.cfg.DryRun {
			cr.Partitions = append(cr.Partitions, fmt.Sprintf("%q", g.PartitionKey))
			for _, task := range g.Tasks {
				cr.Files = append(cr.Files, task.File.FilePath())
			}
		}
	}
	if j.cfg.DryRun {
		cr.OutputFiles, cr.OutputBytes = plan.EstOutputFiles, plan.EstOutputBytes
	}
	return &compactStep{what: "compact data files", commit: func(ctx context.Context) error {
		out, err := tbl.RewriteDataFiles(ctx, groups, table.RewriteDataFilesOptions{
			SnapshotProps: iceberg.Properties{"ice-rest-catalog.maintenance": JobDataCompaction},
			GroupOptions:  []table.CompactionGroupOption{table.WithCompactionTargetFileSize(target)},
		})
		if err != nil {
			return err
		}
		cr.InputFiles, cr.OutputFiles, cr.OutputBytes = out.RemovedDataFiles, out.AddedDataFiles, out.BytesAfter
		if out.Table != nil && out.Table.CurrentSnapshot() != nil {
			cr.Snapshot = out.Table.CurrentSnapshot().SnapshotID
		}
		return nil
	}}, nil
}

// compactStep is a compaction planned on one state of a table.
type compactStep struct {
	// prepare, when set, stages the rewrite once it is not a dry run;
	// false means there is nothing to commit after all.
	prepare func(ctx context.Context) (bool, error)
	// commit commits the rewrite and completes the result. Its error is
	// the commit's own, so that a conflict can be told apart.
	commit func(ctx context.Context) error
	what   string // names the commit in its errors
}

// compactLoop runs a compaction job on a table: load it, plan on that
// state (nil: nothing to do), commit as one replace snapshot through the
// service. If a client commits in between, iceberg-go replays the rewrite
// on top of it; if it still conflicts, the job plans again from the new
// state, and gives up after maxCompactionAttempts.
func (j *Jobs) compactLoop(ctx context.Context, id ice.TableIdent, job string,
	plan func(ctx context.Context, id ice.TableIdent, tbl *table.Table, cr *CompactionResult) (*compactStep, error)) (TableResult, error) {
	res := TableResult{Job: job, Table: id.String()}
	cr := &CompactionResult{}
	for attempt := 1; ; attempt++ {
		t, err := j.svc.LoadTable(ctx, id)
		if err != nil {
			return res, err
		}
		md := t.Metadata.Parsed
		if compactionDisabled(md.Properties()) {
			res.Skipped = PropCompactionEnabled + " is false"
			return res, nil
		}
		if md.CurrentSnapshot() == nil {
			return res, nil
		}
		committer := &replayCommitter{serviceCommitter: serviceCommitter{svc: j.svc, id: id}, jobs: j}
		step, err := plan(ctx, id, j.tableFor(t, committer), cr)
		if err != nil || step == nil {
			return res, err
		}
		res.Compaction = cr
		if j.cfg.DryRun {
			return res, nil
		}
		if step.prepare != nil {
			if ok, err := step.prepare(ctx); err != nil || !ok {
				res.Compaction = nil
				return res, err
			}
		}
		if j.beforeCommit != nil {
			j.beforeCommit(id)
		}
		if err := step.commit(ctx); err != nil {
			if ice.ErrorCode(committer.err) == ice.ECONFLICT || errors.Is(err, table.ErrCommitFailed) {
				j.metrics.compactionConflicts.WithLabelValues(job).Inc()
				cr.Conflicts++
				if attempt < maxCompactionAttempts {
					continue // plan again on the new state
				}
				cr.GaveUp = "concurrent commits kept conflicting with the rewrite: " + err.Error()
				res.Skipped = "gave up after concurrent commits conflicted"
				return res, nil
			}
			return res, fmt.Errorf("%s of %s: %w", step.what, id, err)
		}
		j.metrics.compacted(job, cr)
		return res, nil
	}
}

// planDataCompaction bin-packs the current snapshot's data files that are
// candidates: smaller than target and old enough.
func (j *Jobs) planDataCompaction(ctx context.Context, tbl *table.Table, target int64) (compaction.Plan, error) {
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		return compaction.Plan{}, fmt.Errorf("plan files: %w", err)
	}
	tasks = wholeFiles(tasks)
	if j.cfg.CandidateMinAge > 0 {
		added, err := addedAt(ctx, tbl)
		if err != nil {
			return compaction.Plan{}, err
		}
		cutoff := time.Now().Add(-j.cfg.CandidateMinAge).UnixMilli()
		kept := tasks[:0]
		for _, task := range tasks {
			if added[task.File.FilePath()] <= cutoff {
				kept = append(kept, task)
			}
		}
		tasks = kept
	}
	cfg := compaction.Config{
		TargetFileSizeBytes: target,
		// As in Java ice, a file is a candidate when it is smaller than
		// the target; delete counts alone do not make it one.
		MinFileSizeBytes:    target,
		MaxFileSizeBytes:    max(target*9/5, target+1),
		MinInputFiles:       uint(j.cfg.MinInputFiles),
		DeleteFileThreshold: 1 << 30,
		PackingLookback:     compaction.DefaultPackingLookback,
	}
	return cfg.PlanCompaction(tasks)
}

// wholeFiles turns the ranges of a file larger than read.split.target-size,
// which the scan plan returns as several tasks, back into one task of the
// whole file: the rewrite replaces files, each exactly once.
func wholeFiles(tasks []table.FileScanTask) []table.FileScanTask {
	seen := make(map[string]bool, len(tasks))
	out := tasks[:0]
	for _, task := range tasks {
		if p := task.File.FilePath(); !seen[p] {
			seen[p] = true
			task.Start, task.Length = 0, task.File.FileSizeBytes()
			out = append(out, task)
		}
	}
	return out
}

// currentManifests reads the manifest list of the table's current
// snapshot, with the FileIO it read it with.
func currentManifests(ctx context.Context, tbl *table.Table) (icebergio.IO, []iceberg.ManifestFile, error) {
	fio, err := tbl.FS(ctx)
	if err != nil {
		return nil, nil, err
	}
	manifests, err := tbl.Metadata().CurrentSnapshot().Manifests(fio)
	if err != nil {
		return nil, nil, fmt.Errorf("read manifest list: %w", err)
	}
	return fio, manifests, nil
}

// addedAt maps each live data file of the current snapshot to the time of
// the snapshot that added it. A file whose snapshot has expired is older
// than every retained snapshot: it maps to 0.
func addedAt(ctx context.Context, tbl *table.Table) (map[string]int64, error) {
	md := tbl.Metadata()
	fio, manifests, err := currentManifests(ctx, tbl)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, mf := range manifests {
		if mf.ManifestContent() != iceberg.ManifestContentData {
			continue
		}
		entries, err := mf.FetchEntries(fio, true)
		if err != nil {
			return nil, fmt.Errorf("read manifest %s: %w", mf.FilePath(), err)
		}
		for _, e := range entries {
			var ts int64
			if s := md.SnapshotByID(e.SnapshotID()); s != nil {
				ts = s.TimestampMs
			}
			out[e.DataFile().FilePath()] = ts
		}
	}
	return out, nil
}

// replayCommitter is serviceCommitter for the compaction jobs: a lost race
// is reported as iceberg-go's ErrCommitFailed and reloading is allowed, so
// iceberg-go refreshes, validates the rewrite against the commits made
// meanwhile, and replays it on top of them.
type replayCommitter struct {
	serviceCommitter
	jobs *Jobs
}

func (c *replayCommitter) LoadTable(ctx context.Context, _ table.Identifier) (*table.Table, error) {
	t, err := c.svc.LoadTable(ctx, c.id)
	if err != nil {
		return nil, err
	}
	return c.jobs.tableFor(t, c), nil
}

// tableFor is the table as an iceberg-go table whose commits go to cat.
func (j *Jobs) tableFor(t *service.Table, cat table.CatalogIO) *table.Table {
	ident := append(append(table.Identifier{}, t.ID.Namespace...), t.ID.Name)
	fsF := func(ctx context.Context) (icebergio.IO, error) { return j.wh.FileIO(ctx, t.Location) }
	return table.New(ident, t.Metadata.Parsed, t.Location, fsF, cat)
}

func (c *replayCommitter) CommitTable(ctx context.Context, ident table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	md, loc, err := c.serviceCommitter.CommitTable(ctx, ident, reqs, updates)
	if err != nil && ice.ErrorCode(c.err) == ice.ECONFLICT {
		return nil, "", fmt.Errorf("%w: %w", table.ErrCommitFailed, err)
	}
	return md, loc, err
}
