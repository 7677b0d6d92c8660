package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/server"
)

type statsAnswer struct {
	Stats struct {
		SnapshotID int64 `json:"snapshotId"`
		DataFiles  int64 `json:"dataFiles"`
		Rows       int64 `json:"rows"`
		Bytes      int64 `json:"bytes"`
		SmallFiles int64 `json:"smallFiles"`
		Histogram  []struct {
			Files int64 `json:"files"`
			Bytes int64 `json:"bytes"`
		} `json:"histogram"`
		PartitionCount int64 `json:"partitionCount"`
		Partitions     []struct {
			Key   string `json:"key"`
			Rows  int64  `json:"rows"`
			Files int64  `json:"files"`
		} `json:"partitions"`
	} `json:"stats"`
	Advice []struct {
		Level, Message string
	} `json:"advice"`
}

// TestManagementFileStatsMatchTheSnapshot checks the manifest-level stats
// against the snapshot summary that iceberg-go wrote, pages through every
// file exactly once, and checks that the management endpoints are
// authorized as the REST reads and writes they stand beside.
func TestManagementFileStatsMatchTheSnapshot(t *testing.T) {
	c := startConsoleCatalog(t, "")
	seed(t, c.URL)
	l, code := loadTable(t, c.URL, adminToken, "sales", "orders")
	if code != http.StatusOK {
		t.Fatalf("loadTable: %d", code)
	}
	var cur map[string]string
	for _, s := range l.Metadata.Snapshots {
		if s.ID == l.Metadata.CurrentSnapshotID {
			cur = s.Summary
		}
	}
	base := c.URL + "/management/v1/namespaces/sales/tables/orders"
	var st statsAnswer
	if code := api(t, "GET", base+"/files/stats", readerToken, nil, &st); code != http.StatusOK {
		t.Fatalf("stats as the reader: %d", code)
	}
	if st.Stats.SnapshotID != l.Metadata.CurrentSnapshotID || strconv.FormatInt(st.Stats.Rows, 10) != cur["total-records"] ||
		strconv.FormatInt(st.Stats.DataFiles, 10) != cur["total-data-files"] || strconv.FormatInt(st.Stats.Bytes, 10) != cur["total-files-size"] {
		t.Fatalf("stats %+v do not match the snapshot summary %v", st.Stats, cur)
	}
	var hf, hb, pr, pf int64
	for _, b := range st.Stats.Histogram {
		hf, hb = hf+b.Files, hb+b.Bytes
	}
	for _, p := range st.Stats.Partitions {
		pr, pf = pr+p.Rows, pf+p.Files
	}
	if hf != st.Stats.DataFiles || hb != st.Stats.Bytes || pr != st.Stats.Rows || pf != st.Stats.DataFiles || st.Stats.PartitionCount != 3 {
		t.Fatalf("histogram (%d files, %d bytes) or partitions (%d rows, %d files, %d partitions) disagree with %+v", hf, hb, pr, pf, st.Stats.PartitionCount, st.Stats)
	}
	// Every file is tiny: all are small, and the advice says how many.
	if st.Stats.SmallFiles != st.Stats.DataFiles || len(st.Advice) == 0 || st.Advice[0].Level != "warn" {
		t.Fatalf("small files %d of %d, advice %+v", st.Stats.SmallFiles, st.Stats.DataFiles, st.Advice)
	}
	want := strconv.FormatInt(st.Stats.SmallFiles, 10) + " files under 16 MiB: compaction would merge them into 1."
	if st.Advice[0].Message != want {
		t.Fatalf("advice %q, want %q", st.Advice[0].Message, want)
	}

	// Pages of 2 cover every file once.
	seen := map[string]bool{}
	token := ""
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("paging does not end")
		}
		var page struct {
			Files []struct{ Path string }
			Next  string `json:"next-page-token"`
		}
		u := base + "/files?pageSize=2"
		if token != "" {
			u += "&pageToken=" + token
		}
		if code := api(t, "GET", u, adminToken, nil, &page); code != http.StatusOK {
			t.Fatalf("files page: %d", code)
		}
		for _, f := range page.Files {
			if seen[f.Path] {
				t.Fatalf("file %s on two pages", f.Path)
			}
			seen[f.Path] = true
		}
		if token = page.Next; token == "" {
			break
		}
	}
	if int64(len(seen)) != st.Stats.DataFiles {
		t.Fatalf("paged %d files, the snapshot has %d", len(seen), st.Stats.DataFiles)
	}

	for _, tc := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", base + "/files?pageToken=x.y", adminToken, http.StatusBadRequest},
		{"GET", base + "/files?pageSize=100000", adminToken, http.StatusBadRequest},
		{"GET", base + "/files/stats?snapshot-id=12", adminToken, http.StatusNotFound},
		{"GET", base + "/files/stats", "", http.StatusUnauthorized},
		{"GET", c.URL + "/management/v1/namespaces/secret/summary", readerToken, http.StatusForbidden},
		{"GET", c.URL + "/management/v1/namespaces/sales/tables/nope/files/stats", adminToken, http.StatusNotFound},
		// Maintenance writes: the read-only token and a writer elsewhere are refused.
		{"POST", base + "/maintenance?dry-run=true", readerToken, http.StatusForbidden},
		{"POST", c.URL + "/management/v1/namespaces/secret/tables/x/maintenance", writerToken, http.StatusForbidden},
		{"POST", base + "/maintenance?dry-run=true", writerToken, http.StatusOK},
		// The server page needs read access on the whole catalog.
		{"GET", c.URL + "/management/v1/server", readerToken, http.StatusForbidden},
		{"GET", c.URL + "/management/v1/server", adminToken, http.StatusOK},
	} {
		if code := api(t, tc.method, tc.path, tc.token, nil, nil); code != tc.want {
			t.Errorf("%s %s as %q: %d, want %d", tc.method, tc.path, tc.token, code, tc.want)
		}
	}

	var who map[string]string
	api(t, "GET", c.URL+"/management/v1/whoami?namespace=sales", readerToken, nil, &who)
	if who["principal"] != "token:reader" || who["catalog"] != "none" || who["namespace"] != "read" {
		t.Fatalf("whoami of the reader: %v", who)
	}
	var runs struct {
		Runs []struct {
			DryRun    bool
			Principal string
		}
	}
	api(t, "GET", base+"/maintenance", readerToken, nil, &runs)
	if len(runs.Runs) != 1 || !runs.Runs[0].DryRun || runs.Runs[0].Principal != "token:writer" {
		t.Fatalf("maintenance runs %+v", runs.Runs)
	}
}

// TestConsoleOffByDefaultWithAConfig: a config that does not turn the
// console on serves neither /ui/ nor the management endpoints.
func TestConsoleOffByDefaultWithAConfig(t *testing.T) {
	c := testenv.StartCatalogExcusing(t, testenv.CatalogConfig(t), func(string) bool { return true })
	for _, p := range []string{"/ui/", "/ui/app.js", "/management/v1/whoami"} {
		// The API answers: 404, or 400 for "/ui/", which is not a
		// canonical API path.
		if code := api(t, "GET", c.URL+p, "", nil, nil); code != http.StatusNotFound && code != http.StatusBadRequest {
			t.Errorf("GET %s with the console off: %d, want the API's 404 or 400", p, code)
		}
	}
}

// TestManagementServerInfo: the Server page's data names the elected
// maintenance leader, reports etcd's health and the key metrics, and shows
// the config with no secret in it.
func TestManagementServerInfo(t *testing.T) {
	c := startConsoleCatalog(t, "maintenanceSchedule: \"every day 00:00\"\n")
	var info struct {
		Etcd []struct {
			Endpoint string
			Healthy  bool
		}
		Maintenance struct{ Schedule, Leader string }
		Metrics     map[string]any
		Config      map[string]any
	}
	// A request counted before the page is asked for: a request is counted
	// when it ends.
	api(t, "GET", c.URL+"/v1/config", adminToken, nil, nil)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code := api(t, "GET", c.URL+"/management/v1/server", adminToken, nil, &info); code != http.StatusOK {
			t.Fatalf("server info: %d", code)
		}
		if info.Maintenance.Leader != "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if info.Maintenance.Schedule != "every day 00:00" || info.Maintenance.Leader == "" {
		t.Errorf("maintenance %+v: no leader elected", info.Maintenance)
	}
	if len(info.Etcd) != 1 || !info.Etcd[0].Healthy {
		t.Errorf("etcd %+v", info.Etcd)
	}
	if _, ok := info.Metrics["commitConflicts"]; !ok || info.Metrics["requests"].(float64) < 1 {
		t.Errorf("metrics %v", info.Metrics)
	}
	b, _ := json.Marshal(info.Config)
	for _, secret := range []string{adminToken, readerToken, writerToken} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the config shows %s: %s", secret, b)
		}
	}
	if !strings.Contains(string(b), `"name":"admin"`) {
		t.Errorf("token names are masked too: %s", b)
	}
}

// TestScheduledMaintenanceRunsAreListed: what the elected replica's
// scheduled run did to a table shows among that table's runs.
func TestScheduledMaintenanceRunsAreListed(t *testing.T) {
	c := startConsoleCatalog(t, "maintenanceSchedule: 1s\nmaintenance: {dryRun: true}\n")
	seed(t, c.URL)
	l, _ := loadTable(t, c.URL, adminToken, "sales", "orders")
	commit := map[string]any{"requirements": []any{}, "updates": []any{
		map[string]any{"action": "set-properties", "updates": map[string]string{"history.expire.max-snapshot-age-ms": "1"}}}}
	if code := api(t, "POST", c.URL+"/v1/namespaces/sales/tables/orders", adminToken, commit, nil); code != http.StatusOK {
		t.Fatalf("set property: %d", code)
	}
	var runs struct{ Runs []maintenanceRun }
	expiredListed := func(runs []maintenanceRun) bool {
		return len(runs) > 0 && len(runs[0].expired()) > 0
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		api(t, "GET", c.URL+"/management/v1/namespaces/sales/tables/orders/maintenance", readerToken, nil, &runs)
		if expiredListed(runs.Runs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled run listed: %+v", runs.Runs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	r := runs.Runs[0]
	if r.Principal != "scheduled" || !r.DryRun || len(r.expired()) != len(l.Metadata.Snapshots)-1 {
		t.Fatalf("scheduled run %+v; the table has %d snapshots", r, len(l.Metadata.Snapshots))
	}
	// A dry run: every snapshot is still there.
	after, _ := loadTable(t, c.URL, adminToken, "sales", "orders")
	if len(after.Metadata.Snapshots) != len(l.Metadata.Snapshots) {
		t.Fatalf("the dry run expired snapshots: %d left of %d", len(after.Metadata.Snapshots), len(l.Metadata.Snapshots))
	}
}

// lockedBuffer is a log destination that tests read while the server
// writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestTableMaintenanceIsAudited: running maintenance from the console is a
// write, audited like any other, denied or not.
func TestTableMaintenanceIsAudited(t *testing.T) {
	text := fmt.Sprintf("addr: 127.0.0.1:0\ndebugAddr: 127.0.0.1:0\ndataDir: %s\nwarehouse: file://%s\nconsole: {enabled: true}\n"+
		"bearerTokens:\n  - {name: admin, value: %s}\n  - {name: reader, value: %s, accessConfig: {readOnly: true}}\n",
		t.TempDir(), t.TempDir(), adminToken, readerToken)
	cfg, err := config.Parse([]byte(text), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	srv, err := server.Start(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	url := "http://" + srv.Addr()
	testenv.WaitReady(t, "http://"+srv.DebugAddr()+"/readyz")
	if !strings.Contains(logs.String(), `"msg":"web console","url":"`+url+`/ui/"`) {
		t.Errorf("the start-up log does not name the console's URL %s/ui/:\n%s", url, logs.String())
	}
	iceCLI(t, url, "create-namespace", "sales")
	iceCLI(t, url, "insert", "-p", "sales.orders", writeOrders(t, t.TempDir(), "a.parquet", 0, 10))
	base := url + "/management/v1/namespaces/sales/tables/orders/maintenance"
	if code := api(t, "POST", base+"?dry-run=true", adminToken, nil, nil); code != http.StatusOK {
		t.Fatalf("dry run: %d", code)
	}
	if code := api(t, "POST", base+"?dry-run=false", readerToken, nil, nil); code != http.StatusForbidden {
		t.Fatalf("reader's run: %d", code)
	}
	var ok, denied bool
	for _, line := range strings.Split(logs.String(), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) != nil || e["msg"] != "audit" || e["operation"] != "runTableMaintenance" {
			continue
		}
		switch {
		case e["principal"] == "token:admin" && e["outcome"] == "ok" && e["identifier"] == "sales.orders":
			ok = true
		case e["principal"] == "token:reader" && e["outcome"] == "denied":
			denied = true
		}
	}
	if !ok || !denied {
		t.Fatalf("audit lines for runTableMaintenance: ok %v, denied %v\n%s", ok, denied, logs.String())
	}
}

// maintenanceRun is one run as the management endpoint lists it.
type maintenanceRun struct {
	Principal string
	DryRun    bool
	Results   []struct {
		Job     string
		Expired []int64 `json:"expiredSnapshots"`
	}
}

// expired is what the run's snapshot expiry expired, whichever of the run's
// jobs it is (the compaction jobs run before it).
func (r maintenanceRun) expired() []int64 {
	for _, j := range r.Results {
		if j.Job == "expire-snapshots" {
			return j.Expired
		}
	}
	return nil
}
