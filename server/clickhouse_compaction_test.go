package server_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/maintenance"
	"github.com/ice-rest-catalog/ice/server"
)

// TestClickHouseReadsAfterDataCompaction (issue 16, "reads do not
// change"): a table partitioned by region gets 20 small commits, 16
// iceberg-go appends and 4 ClickHouse INSERTs (40 data files). ClickHouse
// reads it, perform-maintenance runs DATA_COMPACTION, and ClickHouse reads
// it again: the aggregates and a filtered query are identical, it now reads
// one file per partition, and time travel to the snapshot before the
// compaction still reads the old files with the old results.
func TestClickHouseReadsAfterDataCompaction(t *testing.T) {
	ch := testenv.NewestClickHouse(t)
	e := startClickHouseCatalog(t, "1h")
	ctx := context.Background()
	ident := table.Identifier{"cmp", "events"}
	if err := e.writer.CreateNamespace(ctx, table.Identifier{"cmp"}, nil); err != nil {
		t.Fatal(err)
	}
	spec := iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "region", Transform: iceberg.IdentityTransform{}})
	tbl, err := e.writer.CreateTable(ctx, ident, eventSchema, catalog.WithPartitionSpec(&spec))
	if err != nil {
		t.Fatal(err)
	}
	const goAppends, chInserts = 16, 4
	for i := int64(0); i < goAppends; i++ { // ids 0..79, one eu and one us file each
		if tbl, err = tbl.AppendTable(ctx, eventBatch(t, i*5, 5), 100, nil); err != nil {
			t.Fatal(err)
		}
	}
	const (
		table_   = "ice.`cmp.events`"
		totals   = "SELECT count() AS n, sum(id) AS s, uniqExact(region) AS r FROM " + table_
		filtered = "SELECT id, region FROM " + table_ + " WHERE region = 'us' AND id BETWEEN 11 AND 103 ORDER BY id"
		files    = "SELECT count(DISTINCT _path) AS f FROM " + table_
	)
	sql := []string{"SET allow_experimental_database_iceberg = 1", e.database(chWriterToken)}
	for i := 0; i < chInserts; i++ { // ids 100..107, one eu and one us file each
		sql = append(sql, fmt.Sprintf("INSERT INTO %s SETTINGS allow_insert_into_iceberg = 1 VALUES (%d, 'eu'), (%d, 'us')", table_, 100+2*i, 101+2*i))
	}
	s := ch.NewSession(t)
	before := s.MustRun(t, append(sql, totals, filtered, files)...)[2+chInserts:]

	// What ClickHouse read before compaction is right: 80 rows from
	// iceberg-go, 8 from ClickHouse, in 2*(16+4) files.
	if r := before[0][0]; str(r["n"]) != "88" || str(r["s"]) != "3988" || str(r["r"]) != "2" {
		t.Fatalf("before compaction: %v, want 88 rows summing to 3988 in 2 regions", r)
	}
	var wantFiltered []string // odd ids are us: 11..79, then 101..103
	for id := 11; id <= 103; id += 2 {
		if id < 80 || id > 100 {
			wantFiltered = append(wantFiltered, fmt.Sprint(id))
		}
	}
	if got := column(before[1], "id"); !slices.Equal(got, wantFiltered) {
		t.Fatalf("filtered read before compaction: %v, want %v", got, wantFiltered)
	}
	if f := str(before[2][0]["f"]); f != fmt.Sprint(2*(goAppends+chInserts)) {
		t.Fatalf("ClickHouse read %s files before compaction, want %d", f, 2*(goAppends+chInserts))
	}
	pre := mustTable(t, e.writer, ident)
	preSnap := pre.CurrentSnapshot().SnapshotID
	preIDs := readIDs(t, pre, nil)

	// DATA_COMPACTION through perform-maintenance, as an operator runs it
	// against the live catalog (the files are fresh, so any age qualifies).
	cfg := *e.cat.Config
	cfg.Maintenance = config.Maintenance{Jobs: []string{"DATA_COMPACTION"}, DataCompactionCandidateMinAgeInHours: -1}
	rep, err := server.PerformMaintenance(ctx, &cfg, testenv.DiscardLogger(), false)
	if err != nil {
		t.Fatal(err)
	}
	var cr *maintenance.CompactionResult
	for _, r := range rep.Results {
		if r.Job == maintenance.JobDataCompaction && r.Table == "cmp.events" {
			cr = r.Compaction
		}
	}
	if cr == nil || cr.InputFiles != 2*(goAppends+chInserts) || cr.OutputFiles != 2 || cr.Snapshot == 0 {
		t.Fatalf("compaction of cmp.events: %+v (report %+v), want 40 files rewritten into 2", cr, rep.Results)
	}
	post := mustTable(t, e.writer, ident)
	if post.CurrentSnapshot().SnapshotID != cr.Snapshot || post.CurrentSnapshot().Summary.Operation != table.OpReplace {
		t.Fatalf("current snapshot %+v, want the compaction's replace snapshot %d", post.CurrentSnapshot(), cr.Snapshot)
	}
	if got := readIDs(t, post, nil); !slices.Equal(got, preIDs) {
		t.Fatalf("iceberg-go rows changed by compaction: %d -> %d", len(preIDs), len(got))
	}

	// ClickHouse, in a new engine on the same session (no cached
	// metadata), reads the compacted table and travels back.
	asOf := fmt.Sprintf(" SETTINGS iceberg_snapshot_id = %d", preSnap)
	after := s.MustRun(t, totals, filtered, files, totals+asOf, filtered+asOf, files+asOf)
	if !reflect.DeepEqual(after[0], before[0]) || !reflect.DeepEqual(after[1], before[1]) {
		t.Errorf("ClickHouse reads changed by compaction:\ntotals %v -> %v\nfiltered %v -> %v", before[0], after[0], column(before[1], "id"), column(after[1], "id"))
	}
	t.Logf("before %v %v; after %v %v; as of %d: %v %v", before[0], before[2], after[0], after[2], preSnap, after[3], after[5])
	if f := str(after[2][0]["f"]); f != "2" {
		t.Errorf("ClickHouse read %s files after compaction, want 2 (one per partition)", f)
	}
	if !reflect.DeepEqual(after[3], before[0]) || !reflect.DeepEqual(after[4], before[1]) || !reflect.DeepEqual(after[5], before[2]) {
		t.Errorf("time travel to snapshot %d before compaction: totals %v, filtered %v, files %v; want %v, %v, %v",
			preSnap, after[3], column(after[4], "id"), after[5], before[0], column(before[1], "id"), before[2])
	}
}

// column returns one column of ClickHouse's rows as strings.
func column(rows []map[string]any, name string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = str(r[name])
	}
	return out
}
