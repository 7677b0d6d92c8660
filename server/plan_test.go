package server_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	api "github.com/ice-rest-catalog/ice/rest"
	"github.com/ice-rest-catalog/ice/service"
)

// planTable is a partitioned table (identity(region), day(ts)) written by
// iceberg-go with real Parquet files over several appends, with a tag on an
// early snapshot and a branch on a later one.
type planTable struct {
	ident     table.Identifier
	snapshots []int64 // one per append, in order
}

var planSchema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
	iceberg.NestedField{ID: 2, Name: "region", Type: iceberg.PrimitiveTypes.String},
	iceberg.NestedField{ID: 3, Name: "ts", Type: iceberg.PrimitiveTypes.TimestampTz},
	iceberg.NestedField{ID: 4, Name: "score", Type: iceberg.PrimitiveTypes.Float64},
)

// planDay0 is the first day of the data; append a covers days a%3 and a%3+1.
var planDay0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// planBatch is one append's rows: ids [100a, 100a+rows), regions cycling
// through eu/us/ap (append 1 has no ap), scores null in every append
// divisible by 3.
func planBatch(t testing.TB, a, rows int) arrow.Table {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "region", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	regions := []string{"eu", "us", "ap"}
	if a == 1 {
		regions = regions[:2]
	}
	for i := range rows {
		id := int64(100*a + i)
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).(*array.StringBuilder).Append(regions[i%len(regions)])
		day := planDay0.AddDate(0, 0, a%3+i%2)
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(day.Add(time.Duration(i) * time.Minute).UnixMicro()))
		if a%3 == 0 {
			b.Field(3).(*array.Float64Builder).AppendNull()
		} else {
			b.Field(3).(*array.Float64Builder).Append(float64(a*10 + i%10))
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
}

func writePlanTable(t testing.TB, cat *rest.Catalog, name string, appends int) planTable {
	t.Helper()
	ctx := context.Background()
	ns := table.Identifier{"scan"}
	if err := cat.CreateNamespace(ctx, ns, nil); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	spec := iceberg.NewPartitionSpec(
		iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "region", Transform: iceberg.IdentityTransform{}},
		iceberg.PartitionField{SourceIDs: []int{3}, FieldID: 1001, Name: "ts_day", Transform: iceberg.DayTransform{}},
	)
	pt := planTable{ident: append(ns, name)}
	tbl, err := cat.CreateTable(ctx, pt.ident, planSchema, catalog.WithPartitionSpec(&spec))
	if err != nil {
		t.Fatalf("create table: %v", err)
	}
	for a := range appends {
		if tbl, err = tbl.AppendTable(ctx, planBatch(t, a, 40), 1000, nil); err != nil {
			t.Fatalf("append %d: %v", a, err)
		}
		pt.snapshots = append(pt.snapshots, tbl.CurrentSnapshot().SnapshotID)
	}
	refs := []table.Update{
		table.NewSetSnapshotRefUpdate("early", pt.snapshots[1], table.TagRef, 0, 0, 0),
		table.NewSetSnapshotRefUpdate("audit", pt.snapshots[appends-2], table.BranchRef, 0, 0, 0),
	}
	if _, _, err := cat.CommitTable(ctx, pt.ident, []table.Requirement{}, refs); err != nil {
		t.Fatalf("add tag and branch: %v", err)
	}
	return pt
}

// planFilters covers equality, ranges, in, null checks, not, and/or, on
// partition columns (region, ts) and on columns pruned by statistics only.
func planFilters() map[string]iceberg.BooleanExpression {
	day1 := iceberg.Timestamp(planDay0.AddDate(0, 0, 1).UnixMicro())
	return map[string]iceberg.BooleanExpression{
		"all":            iceberg.AlwaysTrue{},
		"region=eu":      iceberg.EqualTo(iceberg.Reference("region"), "eu"),
		"region in":      iceberg.IsIn(iceberg.Reference("region"), "us", "ap"),
		"not region=eu":  iceberg.NewNot(iceberg.EqualTo(iceberg.Reference("region"), "eu")),
		"id>=300":        iceberg.GreaterThanEqual(iceberg.Reference("id"), int64(300)),
		"id range":       iceberg.NewAnd(iceberg.GreaterThan(iceberg.Reference("id"), int64(120)), iceberg.LessThan(iceberg.Reference("id"), int64(210))),
		"score null":     iceberg.IsNull(iceberg.Reference("score")),
		"score not null": iceberg.NotNull(iceberg.Reference("score")),
		"ts<day1":        iceberg.LessThan(iceberg.Reference("ts"), day1),
		"ap or low id":   iceberg.NewOr(iceberg.EqualTo(iceberg.Reference("region"), "ap"), iceberg.LessThan(iceberg.Reference("id"), int64(50))),
		"eu and score>30": iceberg.NewAnd(iceberg.EqualTo(iceberg.Reference("region"), "eu"),
			iceberg.GreaterThan(iceberg.Reference("score"), float64(30))),
	}
}

// filePaths plans with scan and returns the planned data files' paths.
func filePaths(t testing.TB, scan *table.Scan) []string {
	t.Helper()
	tasks, err := scan.PlanFiles(context.Background())
	if err != nil {
		t.Fatalf("plan files: %v", err)
	}
	var out []string
	for _, task := range tasks {
		out = append(out, task.File.FilePath())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func scanAt(t testing.TB, tbl *table.Table, ref string, opts ...table.ScanOption) *table.Scan {
	t.Helper()
	scan := tbl.Scan(opts...)
	if ref == "" {
		return scan
	}
	scan, err := scan.UseRef(ref)
	if err != nil {
		t.Fatalf("use ref %s: %v", ref, err)
	}
	return scan
}

// planReplicas starts four replicas on one etcd: "direct" (every file in
// the answer), "tasks" (two files per plan task), "async" (every
// plan submitted and polled, three files per plan task) and "readonly"
// (defaults, anonymous clients may only read).
func planReplicas(t *testing.T) map[string]*testenv.Catalog {
	t.Helper()
	etcd := testenv.StartEmbeddedEtcd(t)
	tune := map[string]func(*config.Config){
		"direct": func(*config.Config) {},
		"tasks":  func(c *config.Config) { c.ScanPlanning.FilesPerTask = 2 },
		"async":  func(c *config.Config) { c.ScanPlanning.FilesPerTask, c.ScanPlanning.AsyncAfter = 3, -1 },
		// Read-only clients plan too: planning only reads.
		"readonly": func(c *config.Config) {
			c.AnonymousAccess.AccessConfig = &config.AccessConfig{ReadOnly: true}
			c.S3.AccessKeyID, c.S3.SecretAccessKey = "AKIAPLANTEST", "plan-test-secret" // vended, unused by file://
		},
	}
	out := map[string]*testenv.Catalog{}
	for name, fn := range tune {
		cfg := testenv.CatalogConfig(t, etcd.Endpoint)
		// Only the async replica answers "submitted", however slow the
		// machine: the others wait for their plans.
		cfg.ScanPlanning.AsyncAfter = time.Minute
		fn(cfg)
		out[name] = testenv.StartCatalog(t, cfg)
	}
	return out
}

func TestScanPlanningMatchesLocalPlanning(t *testing.T) {
	replicas := planReplicas(t)
	ctx := context.Background()
	writer := testenv.Client(t, replicas["direct"].URL)
	pt := writePlanTable(t, writer, "events", 6)
	local, err := writer.LoadTable(ctx, pt.ident)
	if err != nil {
		t.Fatal(err)
	}
	all := filePaths(t, local.Scan())
	if len(all) < 20 {
		t.Fatalf("table has %d data files; the test wants many to prune", len(all))
	}
	// What iceberg-go plans locally, per ref and filter.
	refs := []string{"", "early", "audit"}
	want := map[string][]string{}
	pruned := 0
	for _, ref := range refs {
		for name, f := range planFilters() {
			paths := filePaths(t, scanAt(t, local, ref, table.WithRowFilter(f)))
			want[ref+"|"+name] = paths
			if len(paths) > 0 && len(paths) < len(all) {
				pruned++
			}
		}
	}
	for _, name := range []string{"id>=300", "id range", "score null"} {
		if w := want["|"+name]; len(w) == 0 || len(w) == len(all) {
			t.Errorf("filter %s on a column that is not partitioned kept %d of %d files; column statistics should prune some", name, len(w), len(all))
		}
	}
	if pruned < 7 {
		t.Errorf("only %d of the cases pruned some but not all files; the filters test too little", pruned)
	}
	for mode, c := range replicas {
		if mode == "readonly" {
			continue // the same planning as direct; see TestScanPlanningAcrossReplicas
		}
		cat := testenv.Client(t, c.URL)
		if !cat.SupportsFullRemoteScanPlanning() {
			t.Fatalf("%s replica does not advertise scan planning", mode)
		}
		remote, err := cat.LoadTable(ctx, pt.ident)
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range refs {
			for name, f := range planFilters() {
				got := filePaths(t, scanAt(t, remote, ref, table.WithRowFilter(f), table.WithScanPlanningMode(table.ScanPlanningRemote)))
				if w := want[ref+"|"+name]; !slices.Equal(got, w) {
					t.Errorf("%s, ref %q, filter %s: server planned %d files, iceberg-go locally %d\nserver: %v\nlocal:  %v",
						mode, ref, name, len(got), len(w), got, w)
				}
			}
		}
	}
}

// planHTTP posts body (or GETs when body is "") to a replica's API and
// returns the status and decoded JSON answer.
func planHTTP(t testing.TB, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// answerPaths lists the data files of a ScanTasks JSON answer.
func answerPaths(ans map[string]any) []string {
	var out []string
	tasks, _ := ans["file-scan-tasks"].([]any)
	for _, task := range tasks {
		df := task.(map[string]any)["data-file"].(map[string]any)
		out = append(out, df["file-path"].(string))
	}
	slices.Sort(out)
	return out
}

func TestScanPlanningAcrossReplicas(t *testing.T) {
	replicas := planReplicas(t)
	ctx := context.Background()
	direct, async, tasks := testenv.Client(t, replicas["direct"].URL), testenv.Client(t, replicas["async"].URL), testenv.Client(t, replicas["tasks"].URL)
	pt := writePlanTable(t, direct, "orders", 4)
	other := writePlanTable(t, direct, "others", 2)
	local, err := direct.LoadTable(ctx, pt.ident)
	if err != nil {
		t.Fatal(err)
	}
	all := filePaths(t, local.Scan())

	// Submitted on one replica, polled on a second, its plan tasks served by a third.
	sub, err := async.PlanTableScan(ctx, pt.ident, rest.PlanTableScanRequest{})
	if err != nil || sub.Status != rest.PlanStatusSubmitted || sub.PlanID == nil {
		t.Fatalf("plan on the async replica: %+v, %v; want submitted with a plan-id", sub, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	done, err := direct.WaitForPlan(wctx, pt.ident, *sub.PlanID, rest.WaitForPlanOptions{MinDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("poll the plan on another replica: %v", err)
	}
	if len(done.PlanTasks) < 2 || len(done.FileScanTasks) != 0 {
		t.Fatalf("completed async plan has %d plan tasks and %d inline file tasks; want only plan tasks", len(done.PlanTasks), len(done.FileScanTasks))
	}
	var got []string
	for _, tok := range done.PlanTasks {
		res, err := tasks.FetchScanTasks(ctx, pt.ident, rest.FetchScanTasksRequest{PlanTask: tok})
		if err != nil {
			t.Fatalf("fetch a plan task on a third replica: %v", err)
		}
		for _, ft := range res.FileScanTasks {
			got = append(got, ft.DataFile.FilePath)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, all) {
		t.Errorf("plan tasks produced %d files, want the table's %d:\n%v\n%v", len(got), len(all), got, all)
	}

	// A read-only client plans (POST .../plan and .../tasks only read), and
	// still cannot write.
	ro := testenv.Client(t, replicas["readonly"].URL)
	roTbl, err := ro.LoadTable(ctx, pt.ident)
	if err != nil {
		t.Fatal(err)
	}
	if got := filePaths(t, roTbl.Scan(table.WithScanPlanningMode(table.ScanPlanningRemote))); !slices.Equal(got, all) {
		t.Errorf("read-only client planned %d files, want %d", len(got), len(all))
	}
	if _, _, err := ro.CommitTable(ctx, pt.ident, []table.Requirement{}, []table.Update{table.NewSetPropertiesUpdate(iceberg.Properties{"k": "v"})}); err == nil {
		t.Error("read-only client committed")
	}

	// A table with no snapshot plans to nothing, on every path.
	if _, err := direct.CreateTable(ctx, table.Identifier{"scan", "empty"}, planSchema); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*rest.Catalog{direct, async, tasks} {
		empty, err := c.LoadTable(ctx, table.Identifier{"scan", "empty"})
		if err != nil {
			t.Fatal(err)
		}
		if got := filePaths(t, empty.Scan(table.WithScanPlanningMode(table.ScanPlanningRemote))); len(got) != 0 {
			t.Errorf("empty table planned %v", got)
		}
	}

	// Asked for vended credentials, a completed plan carries loadTable's.
	req, err := http.NewRequest(http.MethodPost, replicas["readonly"].URL+"/v1/namespaces/scan/tables/orders/plan", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Iceberg-Access-Delegation", "vended-credentials")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var vended struct {
		Creds []struct {
			Prefix string            `json:"prefix"`
			Config map[string]string `json:"config"`
		} `json:"storage-credentials"`
	}
	err = json.NewDecoder(resp.Body).Decode(&vended)
	resp.Body.Close()
	if err != nil || len(vended.Creds) != 1 || vended.Creds[0].Prefix != local.Location() || vended.Creds[0].Config["s3.access-key-id"] != "AKIAPLANTEST" {
		t.Errorf("plan with vended-credentials: %+v, %v; want the table's storage credential", vended, err)
	}

	// A plan task is signed and bound to its table.
	tok := done.PlanTasks[0]
	taskURL := func(id table.Identifier) string {
		return replicas["direct"].URL + "/v1/namespaces/" + id[0] + "/tables/" + id[1] + "/tasks"
	}
	for name, c := range map[string]struct {
		id  table.Identifier
		tok string
	}{
		"other table": {other.ident, tok},
		"tampered":    {pt.ident, tok[:len(tok)-4] + "AAAA"},
		"garbage":     {pt.ident, "not-a-plan-task"},
	} {
		body, _ := json.Marshal(map[string]string{"plan-task": c.tok})
		if code, ans := planHTTP(t, http.MethodPost, taskURL(c.id), string(body)); code != http.StatusNotFound ||
			ans["error"].(map[string]any)["type"] != "NoSuchPlanTaskException" {
			t.Errorf("%s plan task: %d %v; want 404 NoSuchPlanTaskException", name, code, ans)
		}
	}

	// Cancelled on one replica, seen cancelled on another.
	sub, err = async.PlanTableScan(ctx, pt.ident, rest.PlanTableScanRequest{})
	if err != nil || sub.PlanID == nil {
		t.Fatalf("second plan: %+v, %v", sub, err)
	}
	if err := tasks.CancelPlanning(ctx, pt.ident, *sub.PlanID); err != nil {
		t.Fatalf("cancel on another replica: %v", err)
	}
	// The client turns the "cancelled" status into ErrPlanCancelled.
	if _, err := direct.FetchPlanningResult(ctx, pt.ident, *sub.PlanID, rest.FetchPlanningResultOptions{}); !errors.Is(err, rest.ErrPlanCancelled) {
		t.Errorf("cancelled plan polled on a third replica: %v; want status cancelled", err)
	}

	// A plan that fails after it was submitted is polled as failed.
	broken := writePlanTable(t, direct, "broken", 2)
	brokenTbl, err := direct.LoadTable(ctx, broken.ident)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(strings.TrimPrefix(brokenTbl.CurrentSnapshot().ManifestList, "file://")); err != nil {
		t.Fatal(err)
	}
	sub, err = async.PlanTableScan(ctx, broken.ident, rest.PlanTableScanRequest{})
	if err != nil || sub.PlanID == nil {
		t.Fatalf("plan of a table missing its manifest list: %+v, %v; want submitted", sub, err)
	}
	if _, err := direct.WaitForPlan(wctx, broken.ident, *sub.PlanID, rest.WaitForPlanOptions{MinDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond}); !errors.Is(err, rest.ErrPlanFailed) {
		t.Errorf("plan that failed while submitted: %v; want status failed", err)
	}

	planURL := replicas["direct"].URL + "/v1/namespaces/scan/tables/orders/plan"
	if code, _ := planHTTP(t, http.MethodGet, planURL+"/"+uuid.NewString(), ""); code != http.StatusNotFound {
		t.Errorf("unknown plan-id: %d, want 404", code)
	}
	if code, _ := planHTTP(t, http.MethodGet, replicas["direct"].URL+"/v1/namespaces/scan/tables/others/plan/"+*sub.PlanID, ""); code != http.StatusNotFound {
		t.Errorf("plan-id of another table: %d, want 404", code)
	}

	// Incremental: the files appended after the first snapshot, up to the third.
	incTasks, err := local.NewIncrementalAppendScan().FromSnapshotExclusive(pt.snapshots[0]).ToSnapshot(pt.snapshots[2]).PlanFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, task := range incTasks {
		want = append(want, task.File.FilePath())
	}
	slices.Sort(want)
	want = slices.Compact(want)
	code, ans := planHTTP(t, http.MethodPost, planURL, fmt.Sprintf(`{"start-snapshot-id":%d,"end-snapshot-id":%d}`, pt.snapshots[0], pt.snapshots[2]))
	if code != http.StatusOK || ans["status"] != "completed" || !slices.Equal(answerPaths(ans), want) || len(want) == 0 {
		t.Errorf("incremental plan: %d %v files %v; want completed with %v", code, ans["status"], answerPaths(ans), want)
	}

	// Statistics, only for stats-fields, and partition values, as the spec
	// encodes them: checked against iceberg-go's view of the same files.
	code, ans = planHTTP(t, http.MethodPost, planURL, `{"stats-fields":["id"],"filter":{"type":"eq","term":"region","value":"us"}}`)
	if code != http.StatusOK || len(answerPaths(ans)) == 0 {
		t.Fatalf("plan with stats-fields: %d %v", code, ans)
	}
	localFiles := map[string]iceberg.DataFile{}
	localTasks, err := local.Scan().PlanFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range localTasks {
		localFiles[task.File.FilePath()] = task.File
	}
	for _, task := range ans["file-scan-tasks"].([]any) {
		df := task.(map[string]any)["data-file"].(map[string]any)
		lf := localFiles[df["file-path"].(string)]
		day := iceberg.DateLiteral(lf.Partition()[1001].(iceberg.Date)).String()
		wantJSON := map[string]any{
			"content": "data", "file-format": "parquet", "record-count": float64(lf.Count()),
			"partition":    []any{"us", day},
			"lower-bounds": map[string]any{"keys": []any{float64(1)}, "values": []any{strings.ToUpper(hex.EncodeToString(lf.LowerBoundValues()[1]))}},
			"upper-bounds": map[string]any{"keys": []any{float64(1)}, "values": []any{strings.ToUpper(hex.EncodeToString(lf.UpperBoundValues()[1]))}},
			"value-counts": map[string]any{"keys": []any{float64(1)}, "values": []any{float64(lf.ValueCounts()[1])}},
		}
		for k, v := range wantJSON {
			if !reflect.DeepEqual(df[k], v) {
				t.Errorf("%s: %s = %v, want %v", lf.FilePath(), k, df[k], v)
			}
		}
	}

	for name, body := range map[string]string{
		"point in time and incremental": fmt.Sprintf(`{"snapshot-id":%d,"start-snapshot-id":%d,"end-snapshot-id":%d}`, pt.snapshots[1], pt.snapshots[0], pt.snapshots[1]),
		"start without end":             fmt.Sprintf(`{"start-snapshot-id":%d}`, pt.snapshots[0]),
		"unknown snapshot":              `{"snapshot-id":12345}`,
		"unknown column":                `{"filter":{"type":"eq","term":"nope","value":1}}`,
		"unknown stats field":           `{"stats-fields":["nope"]}`,
	} {
		if code, ans := planHTTP(t, http.MethodPost, planURL, body); code != http.StatusBadRequest {
			t.Errorf("%s: %d %v; want 400", name, code, ans)
		}
	}
}

func TestScanPlanningAdvertisedOnlyWhenServed(t *testing.T) {
	want := []string{
		"POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/plan",
		"GET /v1/{prefix}/namespaces/{namespace}/tables/{table}/plan/{plan-id}",
		"DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}/plan/{plan-id}",
		"POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/tasks",
	}
	served := api.New(api.Config{Planner: service.NewPlanner(service.PlannerConfig{})}).Endpoints()
	unserved := api.New(api.Config{}).Endpoints()
	for _, ep := range want {
		if !slices.Contains(served, ep) {
			t.Errorf("with a planner, /v1/config lacks %s", ep)
		}
		if slices.Contains(unserved, ep) {
			t.Errorf("without a planner, /v1/config advertises %s", ep)
		}
	}
}
