package service

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// ScanRequest is a planTableScan request as the spec defines it.
type ScanRequest struct {
	SnapshotID        *int64          `json:"snapshot-id,omitempty"`
	StartSnapshotID   *int64          `json:"start-snapshot-id,omitempty"`
	EndSnapshotID     *int64          `json:"end-snapshot-id,omitempty"`
	Filter            json.RawMessage `json:"filter,omitempty"`
	Select            []string        `json:"select,omitempty"`
	CaseSensitive     *bool           `json:"case-sensitive,omitempty"`
	UseSnapshotSchema *bool           `json:"use-snapshot-schema,omitempty"`
	StatsFields       []string        `json:"stats-fields,omitempty"`
	MinRowsRequested  *int64          `json:"min-rows-requested,omitempty"`
}

// ScanTasks is one batch of planned work: file scan tasks, each for one
// whole data file, and plan tasks that produce more of them.
type ScanTasks struct {
	// Metadata is the table metadata the files were planned from; encoders
	// need its partition specs and schemas.
	Metadata table.Metadata
	Files    []table.FileScanTask
	// StatsFields are the field IDs whose column statistics the client asked
	// for (stats-fields); the others are left out of the answer.
	StatsFields map[int]bool
	PlanTasks   []string
}

// PlanOutcome answers planTableScan and fetchPlanningResult: completed with
// its tasks, submitted (poll again), cancelled, or failed with its error.
type PlanOutcome struct {
	Status string
	PlanID string
	Tasks  ScanTasks
	// Error is why a failed plan failed.
	Error *ice.Error
}

// PlannerConfig configures a Planner.
type PlannerConfig struct {
	Service *Service
	Plans   ice.PlanStore
	Log     *slog.Logger
	// SigningKey signs plan tasks; every replica must use the same one.
	// Empty takes the key kept in the PlanStore, created on first use.
	SigningKey []byte
	// FilesPerTask is the most file scan tasks one answer carries; a larger
	// plan is split into plan tasks of this many files. Default 1000.
	FilesPerTask int
	// AsyncAfter is how long planTableScan waits for planning before it
	// answers "submitted" and lets the client poll. Default 2s; a negative
	// value makes every plan asynchronous.
	AsyncAfter time.Duration
	// PlanTimeout bounds one planning run. Default 10m.
	PlanTimeout time.Duration
	// PlanTTL is how long an asynchronous plan and a plan task stay valid.
	// Default 1h.
	PlanTTL time.Duration
	// CacheFiles bounds the planned files each replica keeps to serve plan
	// tasks without planning again. Default 200000.
	CacheFiles int
	// MaxConcurrent bounds the planning runs of one replica; more wait for
	// a slot (and become asynchronous if that takes AsyncAfter). Default 8.
	MaxConcurrent int
	// MaxFilterDepth and MaxFilterValues bound a request's filter: its
	// nesting, and its JSON tokens (objects, arrays, keys, scalars). A
	// larger filter is a 400 before it is parsed. Zero: no bound.
	MaxFilterDepth, MaxFilterValues int
}

// Planner plans table scans on the server with iceberg-go's own planner.
type Planner struct {
	svc         *Service
	plans       ice.PlanStore
	log         *slog.Logger
	key         *signingKey
	perTask     int
	asyncAfter  time.Duration
	planTimeout time.Duration
	ttl         time.Duration
	cache       *planCache
	slots       chan struct{} // one per running plan
	// filter bounds: PlannerConfig's MaxFilterDepth and MaxFilterValues
	maxFilterDepth, maxFilterValues int
}

// NewPlanner returns a Planner.
func NewPlanner(cfg PlannerConfig) *Planner {
	p := &Planner{svc: cfg.Service, plans: cfg.Plans, log: cfg.Log, perTask: cfg.FilesPerTask,
		asyncAfter: cfg.AsyncAfter, planTimeout: cfg.PlanTimeout, ttl: cfg.PlanTTL,
		maxFilterDepth: cfg.MaxFilterDepth, maxFilterValues: cfg.MaxFilterValues}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.perTask <= 0 {
		p.perTask = 1000
	}
	if p.asyncAfter == 0 {
		p.asyncAfter = 2 * time.Second
	}
	if p.planTimeout <= 0 {
		p.planTimeout = 10 * time.Minute
	}
	if p.ttl <= 0 {
		p.ttl = time.Hour
	}
	p.key = &signingKey{fixed: cfg.SigningKey, store: cfg.Plans}
	files := cfg.CacheFiles
	if files <= 0 {
		files = 200_000
	}
	p.cache = newPlanCache(files)
	p.slots = make(chan struct{}, cmp.Or(max(cfg.MaxConcurrent, 0), 8))
	return p
}

// scanSpec is a scan's resolved inputs: what a plan task carries and what
// the planned files depend on, with the metadata location.
type scanSpec struct {
	SnapshotID        *int64          `json:"snap,omitempty"`
	StartSnapshotID   *int64          `json:"start,omitempty"`
	EndSnapshotID     *int64          `json:"end,omitempty"`
	Filter            json.RawMessage `json:"filter,omitempty"`
	Select            []string        `json:"select,omitempty"`
	CaseSensitive     bool            `json:"cs"`
	UseSnapshotSchema bool            `json:"uss,omitempty"`
	StatsFields       []string        `json:"stats,omitempty"`
}

// plannedScan is a planning result: one task per data file, sorted by path
// so that a plan task's offset range means the same on every replica.
type plannedScan struct {
	metadata table.Metadata
	files    []table.FileScanTask
	stats    map[int]bool
}

// Plan answers planTableScan. The request is checked at once, so a bad
// filter or snapshot is a 400 even when planning would be asynchronous.
func (p *Planner) Plan(ctx context.Context, id ice.TableIdent, req ScanRequest) (*PlanOutcome, error) {
	if err := checkFilterSize(req.Filter, p.maxFilterDepth, p.maxFilterValues); err != nil {
		return nil, err
	}
	t, err := p.svc.LoadTable(ctx, id)
	if err != nil {
		return nil, err
	}
	spec, err := resolveScan(t.Metadata.Parsed, req)
	if err != nil {
		return nil, err
	}
	if _, err := scanOf(id, t.Metadata, spec, nil); err != nil {
		return nil, err
	}
	type result struct {
		scan *plannedScan
		err  error
	}
	planCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.planTimeout)
	done := make(chan result, 1)
	go func() {
		ps, err := p.planFiles(planCtx, id, t.Metadata, spec)
		done <- result{ps, err}
	}()
	if p.asyncAfter > 0 { // else every plan is asynchronous
		timer := time.NewTimer(p.asyncAfter)
		defer timer.Stop()
		select {
		case r := <-done:
			cancel()
			if r.err != nil {
				return nil, r.err
			}
			tasks, err := p.answer(ctx, id, t.Location, spec, r.scan)
			if err != nil {
				return nil, err
			}
			return &PlanOutcome{Status: ice.PlanCompleted, PlanID: inlinePlanPrefix + uuid.NewString(), Tasks: tasks}, nil
		case <-ctx.Done():
			cancel()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
	rec := ice.PlanRecord{ID: uuid.NewString(), Table: id, Status: ice.PlanSubmitted, Deadline: time.Now().Add(p.planTimeout)}
	rev, err := p.plans.CreatePlan(ctx, rec, p.ttl)
	if err != nil {
		cancel()
		return nil, err
	}
	rec.Revision = rev
	go func() {
		defer cancel()
		select {
		case r := <-done:
			p.finish(planCtx, rec, t.Location, spec, r.scan, r.err)
		case <-p.plans.PlanChanged(planCtx, rec.ID, rev):
			// Cancelled (or expired) from any replica: stop planning.
		}
	}()
	return &PlanOutcome{Status: ice.PlanSubmitted, PlanID: rec.ID}, nil
}

// inlinePlanPrefix marks the plan-id of a plan answered in full at once: no
// state is kept for it, and cancelling it has nothing to release.
const inlinePlanPrefix = "inline-"

// answer returns a finished plan's tasks: all of them if they fit in one
// answer, else plan tasks that split them.
func (p *Planner) answer(ctx context.Context, id ice.TableIdent, loc string, spec scanSpec, ps *plannedScan) (ScanTasks, error) {
	if len(ps.files) <= p.perTask {
		return ScanTasks{Metadata: ps.metadata, Files: ps.files, StatsFields: ps.stats}, nil
	}
	tokens, err := p.planTasks(ctx, id, loc, spec, len(ps.files))
	if err != nil {
		return ScanTasks{}, err
	}
	return ScanTasks{Metadata: ps.metadata, PlanTasks: tokens}, nil
}

// FetchTasks answers fetchScanTasks: it checks the plan task's signature,
// plans the same scan of the same metadata file (or finds it in this
// replica's cache) and returns the task's slice of the files.
func (p *Planner) FetchTasks(ctx context.Context, id ice.TableIdent, token string) (ScanTasks, error) {
	key, err := p.key.get(ctx)
	if err != nil {
		return ScanTasks{}, err
	}
	pt, err := openPlanTask(key, token, time.Now())
	if err != nil {
		return ScanTasks{}, err
	}
	if pt.table().String() != id.String() {
		return ScanTasks{}, ice.NoSuchPlanTask("it was issued for another table")
	}
	if _, err := p.svc.TableLocation(ctx, id); err != nil {
		return ScanTasks{}, err
	}
	md, err := p.svc.files.ReadMetadata(ctx, pt.Location)
	if err != nil {
		return ScanTasks{}, fmt.Errorf("read planned metadata of %s: %w", id, err)
	}
	ps, err := p.planFiles(ctx, id, md, pt.Scan)
	if err != nil {
		return ScanTasks{}, err
	}
	if pt.Offset > len(ps.files) {
		return ScanTasks{}, ice.NoSuchPlanTask("its range is outside the plan")
	}
	end := min(pt.Offset+pt.Count, len(ps.files))
	return ScanTasks{Metadata: ps.metadata, Files: ps.files[pt.Offset:end], StatsFields: ps.stats}, nil
}

// planFiles runs iceberg-go's planner, through this replica's cache: the
// result depends only on an immutable metadata file and the scan's inputs.
func (p *Planner) planFiles(ctx context.Context, id ice.TableIdent, md *warehouse.Metadata, spec scanSpec) (*plannedScan, error) {
	ck, err := cacheKey(md.Location, spec)
	if err != nil {
		return nil, err
	}
	if ps, ok := p.cache.get(ck); ok {
		return ps, nil
	}
	select {
	case p.slots <- struct{}{}:
		defer func() { <-p.slots }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	fsF := func(ctx context.Context) (icebergio.IO, error) { return p.svc.files.FileIO(ctx, md.Location) }
	run, err := scanOf(id, md, spec, fsF)
	if err != nil {
		return nil, err
	}
	tasks, err := run(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan scan of %s: %w", id, err)
	}
	ps := &plannedScan{metadata: md.Parsed, files: wholeFiles(tasks), stats: statsFieldIDs(md.Parsed, spec)}
	p.cache.put(ck, ps)
	return ps, nil
}

// wholeFiles turns iceberg-go's tasks, which may split one Parquet file into
// byte ranges, into the spec's one task per data file (clients split by the
// file's split-offsets), sorted by path.
func wholeFiles(tasks []table.FileScanTask) []table.FileScanTask {
	out := make([]table.FileScanTask, 0, len(tasks))
	seen := make(map[string]bool, len(tasks))
	for _, t := range tasks {
		path := t.File.FilePath()
		if seen[path] {
			continue
		}
		seen[path] = true
		t.Start, t.Length = 0, t.File.FileSizeBytes()
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b table.FileScanTask) int { return strings.Compare(a.File.FilePath(), b.File.FilePath()) })
	return out
}

// statsFieldIDs resolves stats-fields to field IDs; unknown names were
// rejected when the request was resolved.
func statsFieldIDs(md table.Metadata, spec scanSpec) map[int]bool {
	if len(spec.StatsFields) == 0 {
		return nil
	}
	schema := scanSchema(md, spec)
	out := map[int]bool{}
	for _, name := range spec.StatsFields {
		var f iceberg.NestedField
		var ok bool
		if spec.CaseSensitive {
			f, ok = schema.FindFieldByName(name)
		} else {
			f, ok = schema.FindFieldByNameCaseInsensitive(name)
		}
		if ok {
			out[f.ID] = true
		}
	}
	return out
}
