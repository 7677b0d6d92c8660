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

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"github.com/ice-rest-catalog/ice/internal/testenv"
)

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

	// Plan tasks describe the plan of the metadata they were issued for: a
	// commit after it does not change what they return.
	if _, err := local.AppendTable(ctx, planBatch(t, 9, 40), 1000, nil); err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, tok := range done.PlanTasks {
		res, err := direct.FetchScanTasks(ctx, pt.ident, rest.FetchScanTasksRequest{PlanTask: tok})
		if err != nil {
			t.Fatalf("fetch a plan task after a commit: %v", err)
		}
		for _, ft := range res.FileScanTasks {
			got = append(got, ft.DataFile.FilePath)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, all) {
		t.Errorf("after a commit, the plan tasks produced %d files, want the planned %d", len(got), len(all))
	}
}
