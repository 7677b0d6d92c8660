package server_test

import (
	"context"
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
			c.VendedCredentials.StaticKeys = true
		},
	}
	out := map[string]*testenv.Catalog{}
	wh := "file://" + t.TempDir() // replicas of one catalog share its warehouse
	for name, fn := range tune {
		cfg := testenv.CatalogConfig(t, etcd.Endpoint)
		cfg.Warehouse = wh
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
