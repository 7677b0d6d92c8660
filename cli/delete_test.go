package cli_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestDeleteOperatorsAndPurge: delete --partition with op (as in Java ice
// v0.19) removes the files of every day from the given one on, and --purge
// then deletes them from storage too; a dry run with --purge changes
// nothing.
func TestDeleteOperatorsAndPurge(t *testing.T) {
	e := startS3Catalog(t)
	e.ok(t, "create-namespace", "logs")
	for d := 0; d < 3; d++ {
		e.put(t, "input", fmt.Sprintf("events/day=%d/part.parquet", d), parquetBytes(t, rows(int64(d*100), 10, day1.AddDate(0, 0, d), "eu")))
	}
	e.ok(t, "insert", "logs.events", "-p", "s3://input/events/day=*/part.parquet", "--partition", `[{"column":"ts","transform":"day"}]`)
	before := e.list(t, "warehouse", "prefix/logs/events/data/")
	if len(before) != 3 {
		t.Fatalf("data files: %v", before)
	}
	filter := `[{"name":"ts_day","op":"greater_than_or_equal","values":["2025-03-02"]}]`

	out := e.ok(t, "delete", "logs.events", "--partition", filter, "--purge")
	if !strings.Contains(out, "dryRun: true") || strings.Count(out, ".parquet") != 2 {
		t.Fatalf("dry run printed %q, want the two files of days 2 and 3", out)
	}
	if got := e.list(t, "warehouse", "prefix/logs/events/data/"); !slices.Equal(got, before) {
		t.Fatalf("a dry run with --purge deleted files: %v", got)
	}

	out = e.ok(t, "delete", "logs.events", "--partition", filter, "--purge", "--dry-run=false")
	if strings.Count(out, ".parquet") != 4 { // listed under files and under purged
		t.Fatalf("delete printed %q", out)
	}
	if ids := e.scanIDs(t, "logs.events"); !slices.Equal(ids, seq(0, 10)) {
		t.Fatalf("rows after deleting days 2 and 3: %v", ids)
	}
	if got := e.list(t, "warehouse", "prefix/logs/events/data/"); len(got) != 1 {
		t.Fatalf("--purge left %v in storage, want only day 1's file", got)
	}

	// An unknown op is a usage error.
	if r := e.ice(t, "delete", "logs.events", "--partition", `[{"name":"ts_day","op":"between","values":["x"]}]`); r.Code != 2 || !strings.Contains(r.Stderr, `op "between"`) {
		t.Fatalf("unknown op: %+v", r)
	}
	// less_than on the source column: a timestamp is turned into its day.
	out = e.ok(t, "delete", "logs.events", "--partition", `[{"name":"ts","op":"less_than","values":["2025-03-02T00:00:00+00:00"]}]`)
	if strings.Count(out, ".parquet") != 1 {
		t.Fatalf("less_than on the source column matched %q, want day 1's file", out)
	}
}
