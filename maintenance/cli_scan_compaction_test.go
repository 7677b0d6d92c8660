package maintenance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/cli"
	"github.com/ice-rest-catalog/ice/maintenance"
)

// iceCLI runs one `ice` command against the fixture's catalog, with the
// warehouse's S3 keys in its config, and returns its exit code and output.
func (f *fixture) iceCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	s3 := f.cfg.S3
	cfgText := "uri: " + f.url + "\ns3:\n  endpoint: " + s3.Endpoint + "\n  pathStyleAccess: true\n  accessKeyID: " + s3.AccessKeyID +
		"\n  secretAccessKey: " + s3.SecretAccessKey + "\n  region: " + s3.Region + "\n"
	cfgPath := filepath.Join(t.TempDir(), "ice.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code = cli.Main(ctx, append([]string{"-c", cfgPath}, args...), cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

// iceScan returns every row `ice scan --json` prints, each as its JSON
// text, sorted (a scan's row order is not fixed).
func (f *fixture) iceScan(t *testing.T, args ...string) []string {
	t.Helper()
	code, out, errOut := f.iceCLI(t, append([]string{"scan", "--limit", "100000", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("ice scan %v: exit %d: %s", args, code, errOut)
	}
	var rows []json.RawMessage
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("ice scan output: %v", err)
	}
	texts := make([]string, len(rows))
	for i, r := range rows {
		texts[i] = string(r)
	}
	slices.Sort(texts)
	return texts
}

// TestIceScanAcrossCompaction: a table of 60 small files, from `ice
// insert` and iceberg-go appends, is compacted; `ice scan` prints the same
// rows before and after, and `ice scan --snapshot-id` of the snapshot
// before the compaction still reads the old files.
func TestIceScanAcrossCompaction(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	tbl := f.createTable(t, "scanned", iceberg.Properties{table.WriteTargetFileSizeBytesKey: "1"}, 0)
	tbl = appendSmallFiles(t, tbl, 0, 200, false) // 20 files
	f.iceInsert(t, "ops.scanned", 1000, 20, 7)    // 20 files
	f.iceInsert(t, "ops.scanned", 2000, 20, 3)    // 20 more
	tbl = setProps(t, f.load(t, "scanned"), iceberg.Properties{table.WriteTargetFileSizeBytesKey: "4194304"})
	if n := len(dataFiles(t, tbl)); n != 60 {
		t.Fatalf("%d data files, want 60", n)
	}
	before := f.iceScan(t, "ops.scanned")
	if len(before) != 200+140+60 {
		t.Fatalf("ice scan before compaction: %d rows", len(before))
	}
	beforeSnap := tbl.CurrentSnapshot().SnapshotID

	res, err := f.jobs(t, anyAge(maintenance.Config{})).CompactData(ctx, ident("scanned"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Compaction == nil || res.Compaction.InputFiles != 60 || res.Compaction.OutputFiles != 1 {
		t.Fatalf("compaction: %+v %s", res.Compaction, res.Skipped)
	}
	after := f.load(t, "scanned")
	if after.CurrentSnapshot().SnapshotID == beforeSnap || len(dataFiles(t, after)) != 1 {
		t.Fatal("the compaction did not commit a one-file snapshot")
	}
	if got := f.iceScan(t, "ops.scanned"); !slices.Equal(got, before) {
		t.Fatalf("ice scan after compaction: %d rows, %d before; first differences: %v", len(got), len(before), firstDiff(got, before))
	}
	if got := f.iceScan(t, "ops.scanned", "--snapshot-id", fmt.Sprint(beforeSnap)); !slices.Equal(got, before) {
		t.Fatalf("ice scan --snapshot-id %d (before compaction): %d rows, want %d", beforeSnap, len(got), len(before))
	}
	// The old snapshot really is read from the 60 small files.
	if tasks, err := after.Scan(table.WithSnapshotID(beforeSnap)).PlanFiles(ctx); err != nil || len(tasks) != 60 {
		t.Fatalf("files of the snapshot before compaction: %d, %v", len(tasks), err)
	}
	if code, _, errOut := f.iceCLI(t, "scan", "ops.scanned", "--snapshot-id", "12345"); code != 1 || !strings.Contains(errOut, "no snapshot 12345") {
		t.Fatalf("scan of a missing snapshot: exit %d: %s", code, errOut)
	}
}

func firstDiff(a, b []string) []string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return []string{a[i], b[i]}
		}
	}
	return nil
}
