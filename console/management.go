package console

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/auth"
	"github.com/ice-rest-catalog/ice/maintenance"
	"github.com/ice-rest-catalog/ice/rest"
	"github.com/ice-rest-catalog/ice/service"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// Prefix is where the management endpoints live, beside /v1.
const Prefix = "/management/v1"

const tablePath = Prefix + "/namespaces/{namespace}/tables/{table}"

// Config is what the management endpoints read from.
type Config struct {
	Service   *service.Service
	Warehouse *warehouse.Warehouse
	// Authz is the API's authorizer: whoami and the catalog-wide commit
	// list ask it what a principal may read, as the API's guard does.
	Authz *auth.Authorizer
	// Maintenance configures a table's maintenance run (what it keeps);
	// DryRun is set per request.
	Maintenance maintenance.Config
	// ServerInfo answers the Server page; nil answers 404.
	ServerInfo func(ctx context.Context) (any, error)
	Log        *slog.Logger
}

// Management serves the console's endpoints for what the Iceberg REST API
// does not expose: manifest-level file stats, health advice, recent commits,
// a table's maintenance runs and server information.
type Management struct {
	cfg   Config
	stats statsCache
	runs  runLog
}

// NewManagement returns the endpoints; Routes registers them on the API.
func NewManagement(cfg Config) *Management {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Management{cfg: cfg}
}

// Routes are the endpoints with what each needs: a table's reads need read
// on its namespace, exactly as loadTable; running maintenance needs write,
// as a commit to the table does, and is audited as writes are.
func (m *Management) Routes() []rest.Route {
	return []rest.Route{
		{Pattern: "GET " + Prefix + "/whoami", Op: "consoleWhoami", Level: auth.None, Handler: m.whoami},
		{Pattern: "GET " + Prefix + "/server", Op: "consoleServer", Level: auth.Read, Handler: m.server},
		{Pattern: "GET " + Prefix + "/commits", Op: "consoleCommits", Level: auth.None, Handler: m.commits},
		{Pattern: "GET " + Prefix + "/namespaces/{namespace}/summary", Op: "consoleNamespaceSummary", Level: auth.Read, Handler: m.namespaceSummary},
		{Pattern: "GET " + tablePath + "/files/stats", Op: "consoleFileStats", Level: auth.Read, Handler: m.fileStats},
		{Pattern: "GET " + tablePath + "/files", Op: "consoleFiles", Level: auth.Read, Handler: m.files},
		{Pattern: "GET " + tablePath + "/maintenance", Op: "consoleMaintenanceRuns", Level: auth.Read, Handler: m.maintenanceRuns},
		{Pattern: "POST " + tablePath + "/maintenance", Op: "runTableMaintenance", Level: auth.Write, Handler: m.runMaintenance},
	}
}

func namespaceOf(s string) (ice.Namespace, error) {
	if s == "" {
		return nil, ice.Errorf(ice.EINVALID, "namespace must not be empty")
	}
	ns := ice.Namespace(strings.Split(s, "\x1f"))
	return ns, ice.ValidateNamespace(ns)
}

func tableOf(r *http.Request) (ice.TableIdent, error) {
	ns, err := namespaceOf(r.PathValue("namespace"))
	if err != nil {
		return ice.TableIdent{}, err
	}
	id := ice.TableIdent{Namespace: ns, Name: r.PathValue("table")}
	return id, ice.ValidateTableIdent(id)
}

// whoami tells the console who it signed in as and what it may do, on the
// catalog and on ?namespace=, so that it shows only the actions the API
// would allow. The API still checks every action itself.
func (m *Management) whoami(w http.ResponseWriter, r *http.Request) error {
	who, _ := auth.FromContext(r.Context())
	out := map[string]any{"principal": who.Name, "catalog": m.cfg.Authz.Level(who, nil).String()}
	if p := r.URL.Query().Get("namespace"); p != "" {
		ns, err := namespaceOf(p)
		if err != nil {
			return err
		}
		out["namespace"] = m.cfg.Authz.Level(who, ns).String()
	}
	rest.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (m *Management) server(w http.ResponseWriter, r *http.Request) error {
	if m.cfg.ServerInfo == nil {
		return ice.Errorf(ice.ENOTFOUND, "no server information on this server")
	}
	info, err := m.cfg.ServerInfo(r.Context())
	if err != nil {
		return err
	}
	rest.WriteJSON(w, http.StatusOK, info)
	return nil
}

// countLimit bounds what a namespace summary counts, so that a request
// cannot keep the server paging forever; a count at the limit is shown as
// "at least".
const countLimit = 1_000_000

func (m *Management) namespaceSummary(w http.ResponseWriter, r *http.Request) error {
	ns, err := namespaceOf(r.PathValue("namespace"))
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := m.cfg.Service.LoadNamespace(ctx, ns); err != nil {
		return err
	}
	count := func(list func(ice.Page) (int, string, error)) (int, error) {
		n, tok := 0, ""
		for n < countLimit {
			k, next, err := list(ice.Page{Token: tok, Size: 1000})
			if err != nil {
				return n, err
			}
			n += k
			if next == "" {
				break
			}
			tok = next
		}
		return n, nil
	}
	tables, err := count(func(p ice.Page) (int, string, error) {
		ids, next, err := m.cfg.Service.ListTables(ctx, ns, p)
		return len(ids), next, err
	})
	if err != nil {
		return err
	}
	views, err := count(func(p ice.Page) (int, string, error) {
		ids, next, err := m.cfg.Service.ListViews(ctx, ns, p)
		return len(ids), next, err
	})
	if err != nil {
		return err
	}
	children, err := count(func(p ice.Page) (int, string, error) {
		ids, next, err := m.cfg.Service.ListNamespaces(ctx, ns, p)
		return len(ids), next, err
	})
	if err != nil {
		return err
	}
	rest.WriteJSON(w, http.StatusOK, map[string]any{"namespace": []string(ns), "tables": tables, "views": views,
		"namespaces": children, "limit": countLimit})
	return nil
}

// Commit is one snapshot in the catalog's recent history.
type Commit struct {
	Table       string   `json:"table"`
	Namespace   []string `json:"namespace"`
	Name        string   `json:"name"`
	SnapshotID  int64    `json:"snapshotId"`
	TimestampMs int64    `json:"timestampMs"`
	Operation   string   `json:"operation"`
	AddedRows   string   `json:"addedRows,omitempty"`
	AddedFiles  string   `json:"addedFiles,omitempty"`
}

// commitScanLimit bounds how many tables the recent-commits list reads.
const commitScanLimit = 500

// commits lists the most recent snapshots of the tables the principal may
// read, newest first. It reads at most commitScanLimit tables (each
// metadata file from the cache when it is there) and says when it stopped.
func (m *Management) commits(w http.ResponseWriter, r *http.Request) error {
	limit, err := intParam(r, "limit", 20, 200)
	if err != nil {
		return err
	}
	ctx := r.Context()
	who, _ := auth.FromContext(ctx)
	var out []Commit
	scanned, truncated := 0, false
	queue := []ice.Namespace{nil}
	for len(queue) > 0 && !truncated {
		parent := queue[0]
		queue = queue[1:]
		children, err := m.listAll(ctx, func(p ice.Page) ([]ice.Namespace, string, error) {
			return m.cfg.Service.ListNamespaces(ctx, parent, p)
		})
		if err != nil {
			return err
		}
		for _, ns := range children {
			if m.cfg.Authz.Level(who, ns) < auth.Read {
				continue
			}
			queue = append(queue, ns)
			ids, err := m.listAllTables(ctx, ns)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if scanned >= commitScanLimit {
					truncated = true
					break
				}
				scanned++
				t, err := m.cfg.Service.LoadTable(ctx, id)
				if ice.ErrorCode(err) == ice.ENOTFOUND {
					continue // dropped meanwhile
				}
				if err != nil {
					return err
				}
				for _, s := range t.Metadata.Parsed.Snapshots() {
					c := Commit{Table: id.String(), Namespace: []string(id.Namespace), Name: id.Name, SnapshotID: s.SnapshotID, TimestampMs: s.TimestampMs}
					if s.Summary != nil {
						c.Operation = string(s.Summary.Operation)
						c.AddedRows = s.Summary.Properties["added-records"]
						c.AddedFiles = s.Summary.Properties["added-data-files"]
					}
					out = append(out, c)
				}
				sort.Slice(out, func(i, j int) bool { return out[i].TimestampMs > out[j].TimestampMs })
				if len(out) > limit {
					out = out[:limit]
				}
			}
		}
	}
	if out == nil {
		out = []Commit{}
	}
	rest.WriteJSON(w, http.StatusOK, map[string]any{"commits": out, "tablesRead": scanned, "truncated": truncated})
	return nil
}

func (m *Management) listAll(ctx context.Context, list func(ice.Page) ([]ice.Namespace, string, error)) ([]ice.Namespace, error) {
	var all []ice.Namespace
	tok := ""
	for {
		got, next, err := list(ice.Page{Token: tok, Size: 1000})
		if err != nil {
			return nil, err
		}
		all = append(all, got...)
		if next == "" || len(all) >= commitScanLimit {
			return all, nil
		}
		tok = next
	}
}

func (m *Management) listAllTables(ctx context.Context, ns ice.Namespace) ([]ice.TableIdent, error) {
	var all []ice.TableIdent
	tok := ""
	for {
		got, next, err := m.cfg.Service.ListTables(ctx, ns, ice.Page{Token: tok, Size: 1000})
		if err != nil {
			return nil, err
		}
		all = append(all, got...)
		if next == "" || len(all) >= commitScanLimit {
			return all, nil
		}
		tok = next
	}
}

// tableStats loads a table and its snapshot's stats (nil without one).
func (m *Management) tableStats(r *http.Request) (*service.Table, *FileStats, error) {
	id, err := tableOf(r)
	if err != nil {
		return nil, nil, err
	}
	ctx := r.Context()
	t, err := m.cfg.Service.LoadTable(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	md := t.Metadata.Parsed
	snap, err := snapshotOf(md, r.URL.Query().Get("snapshot-id"))
	if err != nil || snap == nil {
		return t, nil, err
	}
	key := md.Location() + "\x00" + strconv.FormatInt(snap.SnapshotID, 10)
	if st, ok := m.stats.get(key); ok {
		return t, st, nil
	}
	fio, err := m.cfg.Warehouse.FileIO(ctx, md.Location())
	if err != nil {
		return nil, nil, fmt.Errorf("file IO for %s: %w", id, err)
	}
	st, err := fileStats(md, snap, fio)
	if err != nil {
		return nil, nil, err
	}
	m.stats.put(key, st)
	return t, st, nil
}

func (m *Management) fileStats(w http.ResponseWriter, r *http.Request) error {
	t, st, err := m.tableStats(r)
	if err != nil {
		return err
	}
	rest.WriteJSON(w, http.StatusOK, map[string]any{"stats": st, "advice": advise(t.Metadata.Parsed, st)})
	return nil
}

func (m *Management) files(w http.ResponseWriter, r *http.Request) error {
	id, err := tableOf(r)
	if err != nil {
		return err
	}
	size, err := intParam(r, "pageSize", 100, 1000)
	if err != nil {
		return err
	}
	ctx := r.Context()
	t, err := m.cfg.Service.LoadTable(ctx, id)
	if err != nil {
		return err
	}
	md := t.Metadata.Parsed
	snap, err := snapshotOf(md, r.URL.Query().Get("snapshot-id"))
	if err != nil {
		return err
	}
	if snap == nil {
		rest.WriteJSON(w, http.StatusOK, FilePage{Files: []DataFile{}})
		return nil
	}
	fio, err := m.cfg.Warehouse.FileIO(ctx, md.Location())
	if err != nil {
		return fmt.Errorf("file IO for %s: %w", id, err)
	}
	page, err := filePage(md, snap, fio, r.URL.Query().Get("pageToken"), size)
	if err != nil {
		return err
	}
	rest.WriteJSON(w, http.StatusOK, page)
	return nil
}

// Run is one maintenance run on one table, started from the console.
type Run struct {
	Table     string                    `json:"table"`
	Principal string                    `json:"principal"`
	DryRun    bool                      `json:"dryRun"`
	Started   time.Time                 `json:"started"`
	Duration  string                    `json:"duration"`
	Results   []maintenance.TableResult `json:"results"`
	Error     string                    `json:"error,omitempty"`
}

// runLog keeps the last runs per table on this replica, since it started:
// the runs are history, not state, so nothing else depends on them.
type runLog struct {
	mu   sync.Mutex
	runs map[string][]Run
}

const runsPerTable = 20

func (l *runLog) add(run Run) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.runs == nil {
		l.runs = map[string][]Run{}
	}
	rs := append([]Run{run}, l.runs[run.Table]...)
	if len(rs) > runsPerTable {
		rs = rs[:runsPerTable]
	}
	l.runs[run.Table] = rs
}

func (l *runLog) of(table string) []Run {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Run{}, l.runs[table]...)
}

// RecordScheduled keeps what a scheduled maintenance run (on the elected
// replica) did to each table, beside the console's own runs. Tables it
// left alone are not recorded.
func (m *Management) RecordScheduled(rep *maintenance.Report, started time.Time, took time.Duration) {
	if rep == nil {
		return
	}
	byTable := map[string][]maintenance.TableResult{}
	var order []string
	for _, r := range rep.Results {
		if _, ok := byTable[r.Table]; !ok {
			order = append(order, r.Table)
		}
		byTable[r.Table] = append(byTable[r.Table], r)
	}
	for _, table := range order {
		m.runs.add(Run{Table: table, Principal: "scheduled", DryRun: rep.DryRun, Started: started.UTC(),
			Duration: took.Round(time.Millisecond).String(), Results: byTable[table]})
	}
}

func (m *Management) maintenanceRuns(w http.ResponseWriter, r *http.Request) error {
	id, err := tableOf(r)
	if err != nil {
		return err
	}
	if _, err := m.cfg.Service.TableLocation(r.Context(), id); err != nil {
		return err
	}
	rest.WriteJSON(w, http.StatusOK, map[string]any{"runs": m.runs.of(id.String())})
	return nil
}

// runMaintenance runs the maintenance jobs on one table: expire snapshots,
// delete old metadata files, remove orphan files; ?dry-run=true lists what
// they would do and changes nothing. Expiry is a commit through the
// service, like any other.
func (m *Management) runMaintenance(w http.ResponseWriter, r *http.Request) error {
	id, err := tableOf(r)
	if err != nil {
		return err
	}
	dry := true
	if v := r.URL.Query().Get("dry-run"); v != "" {
		if dry, err = strconv.ParseBool(v); err != nil {
			return ice.Errorf(ice.EINVALID, "dry-run %q is not true or false", v)
		}
	}
	ctx := r.Context()
	if _, err := m.cfg.Service.TableLocation(ctx, id); err != nil {
		return err
	}
	cfg := m.cfg.Maintenance
	cfg.DryRun = dry
	jobs, err := maintenance.New(m.cfg.Service, m.cfg.Warehouse, cfg, m.cfg.Log, nil)
	if err != nil {
		return err
	}
	who, _ := auth.FromContext(ctx)
	run := Run{Table: id.String(), Principal: who.Name, DryRun: dry, Started: time.Now().UTC(), Results: []maintenance.TableResult{}}
	steps := []func(context.Context, ice.TableIdent) (maintenance.TableResult, error){jobs.ExpireSnapshots, jobs.DeleteOldMetadata}
	if !cfg.SkipOrphans {
		steps = append(steps, jobs.RemoveOrphanFiles)
	}
	for _, step := range steps {
		res, err := step(ctx, id)
		if err != nil {
			run.Error = err.Error()
			break
		}
		run.Results = append(run.Results, res)
	}
	run.Duration = time.Since(run.Started).Round(time.Millisecond).String()
	m.runs.add(run)
	if run.Error != "" {
		m.cfg.Log.WarnContext(ctx, "table maintenance failed", "table", run.Table, "dryRun", dry, "err", run.Error)
	}
	rest.WriteJSON(w, http.StatusOK, run)
	return nil
}

// intParam reads the query parameter name as a number from 1 to max;
// absent, it is def.
func intParam(r *http.Request, name string, def, max int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, ice.Errorf(ice.EINVALID, "%s %q must be a number from 1 to %d", name, v, max)
	}
	return n, nil
}
