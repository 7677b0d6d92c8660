package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	clientv3 "go.etcd.io/etcd/client/v3"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// eventsConfig: admin may do anything, bi may read sales only.
func eventsConfig(t *testing.T, extra string, etcdEndpoints ...string) *config.Config {
	t.Helper()
	text := "addr: 127.0.0.1:0\ndebugAddr: 127.0.0.1:0\ndataDir: " + t.TempDir() + "\n" + `
bearerTokens:
  - {name: admin, value: admin-token}
  - {name: bi, value: bi-token}
authorization:
  rules:
    - {principals: ["token:admin"], access: admin}
    - {principals: ["token:bi"], namespaces: [sales], access: read}
` + extra
	if len(etcdEndpoints) > 0 {
		text += "uri: etcd:" + strings.Join(etcdEndpoints, ",") + "\nwarehouse: file://" + t.TempDir() + "\n"
	}
	cfg, err := config.Parse([]byte(text), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// management routes are this server's own, not in the Iceberg spec.
func notInSpec(v string) bool { return strings.Contains(v, "/management/v1/") }

// sseEvent is one event read from the stream.
type sseEvent struct {
	id string
	ce ice.CloudEvent
}

// openStream connects to the event stream and sends its events on the
// channel until the test ends or stop is called; a stream error closes it.
func openStream(t *testing.T, base, token, lastID, query string) (<-chan sseEvent, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/management/v1/events"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		var b map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&b)
		resp.Body.Close()
		cancel()
		t.Fatalf("event stream: %d %v", resp.StatusCode, b)
	}
	out := make(chan sseEvent, 1024)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var cur sseEvent
		var kind string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				cur.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				kind = line[7:]
			case strings.HasPrefix(line, "data: "):
				if kind == "error" {
					return
				}
				if err := json.Unmarshal([]byte(line[6:]), &cur.ce); err != nil {
					return
				}
			case line == "":
				if cur.id != "" {
					out <- cur
				}
				cur, kind = sseEvent{}, ""
			}
		}
	}()
	t.Cleanup(cancel)
	return out, cancel
}

// next reads n events, failing after a long bound (against a hang only).
func next(t *testing.T, ch <-chan sseEvent, n int) []sseEvent {
	t.Helper()
	var got []sseEvent
	deadline := time.After(90 * time.Second)
	for len(got) < n {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended after %d of %d events", len(got), n)
			}
			got = append(got, e)
		case <-deadline:
			t.Fatalf("only %d of %d events arrived", len(got), n)
		}
	}
	return got
}

func types(evs []sseEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ce.Type+" "+e.ce.Subject)
	}
	return out
}

// The feed over SSE: every commit once, in order, with its snapshot; a
// reader sees only namespaces it may read; a consumer reconnecting with
// its Last-Event-ID misses nothing and gets nothing twice. A soft-dropped
// table is listed as deleted, keeps its location reserved, and undropped
// reads back identical with iceberg-go.
func TestEventsStreamAndUndrop(t *testing.T) {
	c := testenv.StartCatalogExcusing(t, eventsConfig(t, ""), notInSpec)
	ctx := context.Background()
	cat := testenv.Client(t, c.URL, rest.WithOAuthToken("admin-token"))

	all, _ := openStream(t, c.URL, "admin-token", "", "?after=0")
	bi, _ := openStream(t, c.URL, "bi-token", "", "?after=0")

	// sales turns soft drop on by property; hr keeps the catalog's (off).
	if err := cat.CreateNamespace(ctx, table.Identifier{"sales"}, iceberg.Properties{ice.PropSoftDrop: "true"}); err != nil {
		t.Fatal(err)
	}
	if err := cat.CreateNamespace(ctx, table.Identifier{"hr"}, nil); err != nil {
		t.Fatal(err)
	}
	ident := table.Identifier{"sales", "orders"}
	tbl, err := cat.CreateTable(ctx, ident, eventSchema)
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 3; i++ {
		if tbl, err = tbl.AppendTable(ctx, eventBatch(t, i*10, 10), 100, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cat.CreateTable(ctx, table.Identifier{"hr", "people"}, eventSchema); err != nil {
		t.Fatal(err)
	}
	before, err := cat.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := readIDs(t, before, nil)

	first := next(t, all, 7)
	want := []string{
		"ice.namespace.created sales", "ice.namespace.created hr", "ice.table.created sales.orders",
		"ice.table.committed sales.orders", "ice.table.committed sales.orders", "ice.table.committed sales.orders",
		"ice.table.created hr.people",
	}
	if fmt.Sprint(types(first)) != fmt.Sprint(want) {
		t.Fatalf("events:\n%v\nwant\n%v", types(first), want)
	}
	for i, e := range first[3:6] {
		d := e.ce.Data
		if d.Snapshot == nil || d.Snapshot.Operation != "append" || d.Snapshot.Summary["added-records"] != "10" {
			t.Errorf("commit %d: snapshot %+v", i, d.Snapshot)
		}
		if d.Principal != "token:admin" || d.PreviousMetadataLocation == "" || d.MetadataLocation == d.PreviousMetadataLocation {
			t.Errorf("commit %d: principal %q, locations %q -> %q", i, d.Principal, d.PreviousMetadataLocation, d.MetadataLocation)
		}
		if e.ce.SpecVersion != "1.0" || e.ce.Source != "/catalogs/default" || e.id != e.ce.Cursor {
			t.Errorf("commit %d: envelope %+v, sse id %s", i, e.ce, e.id)
		}
	}
	if first[2].ce.Data.SchemaID == nil || first[3].ce.Data.SchemaID != nil {
		t.Errorf("schema id: on create %v, on an append %v; want set, then unset", first[2].ce.Data.SchemaID, first[3].ce.Data.SchemaID)
	}
	// bi reads sales only: never an event of hr.
	biFirst := next(t, bi, 5)
	for _, e := range biFirst {
		if !strings.HasPrefix(e.ce.Subject, "sales") {
			t.Errorf("bi sees %s %s", e.ce.Type, e.ce.Subject)
		}
	}

	// Soft drop, then a new table takes the name (not the location).
	if err := cat.DropTable(ctx, ident); err != nil {
		t.Fatal(err)
	}
	st, body := callAPI(t, "GET", c.URL+"/management/v1/namespaces/sales/deleted", "admin-token", nil)
	deleted, _ := body["deleted"].([]any)
	if st != 200 || len(deleted) != 1 {
		t.Fatalf("list deleted: %d %v", st, body)
	}
	entry := deleted[0].(map[string]any)
	delID := entry["id"].(string)
	if entry["metadata-location"] != before.MetadataLocation() || entry["principal"] != "token:admin" || entry["location"] != before.Location() {
		t.Fatalf("deleted entry %v, want metadata %s location %s", entry, before.MetadataLocation(), before.Location())
	}
	fresh, err := cat.CreateTable(ctx, ident, eventSchema)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Location() == before.Location() || strings.HasPrefix(fresh.Location(), before.Location()+"/") {
		t.Fatalf("new table took the dropped table's location %s", fresh.Location())
	}
	st, body = callAPI(t, "POST", c.URL+"/v1/namespaces/sales/tables", "admin-token",
		map[string]any{"name": "squatter", "schema": map[string]any{"type": "struct", "schema-id": 0, "fields": []any{}}, "location": before.Location()})
	wantError(t, "a table at a reserved location", st, body, 409)
	// Read access is not enough to undrop; a taken name needs a new one.
	st, body = callAPI(t, "POST", c.URL+"/management/v1/namespaces/sales/deleted/"+delID+"/undrop", "bi-token", nil)
	wantError(t, "bi undrops", st, body, 403)
	st, body = callAPI(t, "POST", c.URL+"/management/v1/namespaces/sales/deleted/"+delID+"/undrop", "admin-token", nil)
	wantError(t, "undrop onto a taken name", st, body, 409)
	st, body = callAPI(t, "POST", c.URL+"/management/v1/namespaces/sales/deleted/"+delID+"/undrop", "admin-token", map[string]any{"name": "orders_restored"})
	if st != 200 {
		t.Fatalf("undrop: %d %v", st, body)
	}
	restored, err := cat.LoadTable(ctx, table.Identifier{"sales", "orders_restored"})
	if err != nil {
		t.Fatal(err)
	}
	if restored.MetadataLocation() != before.MetadataLocation() || !restored.Metadata().Equals(before.Metadata()) {
		t.Fatalf("undropped table differs: %s vs %s", restored.MetadataLocation(), before.MetadataLocation())
	}
	if got := readIDs(t, restored, nil); fmt.Sprint(got) != fmt.Sprint(wantIDs) {
		t.Fatalf("undropped table reads %v, want %v", got, wantIDs)
	}
	// hr keeps the catalog's setting: a hard drop, nothing listed.
	if err := cat.DropTable(ctx, table.Identifier{"hr", "people"}); err != nil {
		t.Fatal(err)
	}
	if st, body := callAPI(t, "GET", c.URL+"/management/v1/namespaces/hr/deleted", "admin-token", nil); st != 200 || len(body["deleted"].([]any)) != 0 {
		t.Fatalf("hr deleted: %d %v", st, body)
	}

	second := next(t, all, 4)
	want = []string{"ice.table.dropped sales.orders", "ice.table.created sales.orders", "ice.table.undropped sales.orders_restored", "ice.table.dropped hr.people"}
	if fmt.Sprint(types(second)) != fmt.Sprint(want) {
		t.Fatalf("events:\n%v\nwant\n%v", types(second), want)
	}
	if d := second[0].ce.Data; !d.Soft || d.DeletedID != delID {
		t.Errorf("soft drop event %+v", d)
	}
	if d := second[2].ce.Data; d.FromName != "orders" || d.DeletedID != delID || d.Principal != "token:admin" {
		t.Errorf("undrop event %+v", d)
	}
	if second[3].ce.Data.Soft {
		t.Error("hr's drop is reported soft")
	}

	// Reconnect from the middle: exactly the rest, in order.
	whole := append(first, second...)
	resumed, stop := openStream(t, c.URL, "admin-token", whole[4].id, "")
	rest := next(t, resumed, len(whole)-5)
	stop()
	for i, e := range rest {
		if e.ce.ID != whole[5+i].ce.ID {
			t.Fatalf("resumed event %d = %s, want %s", i, e.ce.ID, whole[5+i].ce.ID)
		}
	}
	seen := map[string]bool{}
	for _, e := range whole {
		if seen[e.ce.ID] {
			t.Fatalf("event %s delivered twice", e.ce.ID)
		}
		seen[e.ce.ID] = true
	}
	// Filters: one table, one type.
	filtered, stop := openStream(t, c.URL, "admin-token", "", "?after=0&namespace=sales&table=orders&type=ice.table.committed")
	if got := next(t, filtered, 3); got[0].ce.ID != first[3].ce.ID || got[2].ce.ID != first[5].ce.ID {
		t.Fatalf("filtered stream: %v", types(got))
	}
	stop()
	// A cursor etcd has compacted away: 410, naming the revision to
	// resync from.
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{c.Server.EtcdEndpoint()}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	compactAt := whole[len(whole)-1].ce.Revision
	if _, err := cli.Compact(ctx, compactAt); err != nil {
		t.Fatal(err)
	}
	st, body = callAPI(t, "GET", c.URL+"/management/v1/events?after=1", "admin-token", nil)
	wantError(t, "a compacted cursor", st, body, 410)
	if msg := fmt.Sprint(body["error"].(map[string]any)["message"]); !strings.Contains(msg, fmt.Sprintf("resync fully from revision %d", compactAt)) {
		t.Errorf("compacted cursor message: %s", msg)
	}
	st, body = callAPI(t, "GET", c.URL+"/management/v1/events?type=nope", "admin-token", nil)
	wantError(t, "unknown type filter", st, body, 400)
	st, body = callAPI(t, "GET", c.URL+"/management/v1/events?after=x", "admin-token", nil)
	wantError(t, "bad cursor", st, body, 400)
}

// The maintenance leader purges a soft-dropped table once its retention
// has ended, through the normal purge (its metadata files go), and the
// feed reports the drop, the purge and the run.
func TestMaintenancePurgesExpiredDeletedEntries(t *testing.T) {
	cfg := eventsConfig(t, "maintenanceSchedule: 50ms\nsoftDrop: {enabled: true, retention: 1ms}\n")
	c := testenv.StartCatalogExcusing(t, cfg, notInSpec)
	ctx := context.Background()
	cat := testenv.Client(t, c.URL, rest.WithOAuthToken("admin-token"))
	stream, _ := openStream(t, c.URL, "admin-token", "", "?after=0&type=ice.table.dropped,ice.table.purged")
	if err := cat.CreateNamespace(ctx, table.Identifier{"ops"}, nil); err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.CreateTable(ctx, table.Identifier{"ops", "gone"}, eventSchema)
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.DropTable(ctx, table.Identifier{"ops", "gone"}); err != nil {
		t.Fatal(err)
	}
	got := next(t, stream, 2)
	if got[0].ce.Type != ice.EventTableDropped || !got[0].ce.Data.Soft || got[1].ce.Type != ice.EventTablePurged ||
		got[1].ce.Data.Principal != "maintenance" || got[1].ce.Data.DeletedID != got[0].ce.Data.DeletedID {
		t.Fatalf("events %+v / %+v", got[0].ce, got[1].ce)
	}
	st, body := callAPI(t, "GET", c.URL+"/management/v1/namespaces/ops/deleted", "admin-token", nil)
	if st != 200 || len(body["deleted"].([]any)) != 0 {
		t.Fatalf("deleted after the purge: %d %v", st, body)
	}
	loc := strings.TrimPrefix(tbl.MetadataLocation(), "file://")
	testenv.Eventually(t, 3*time.Minute, "the purge deletes the metadata file", func() bool { _, err := os.Stat(loc); return os.IsNotExist(err) })
	runs, _ := openStream(t, c.URL, "admin-token", "", "?after=0&type=ice.maintenance.run")
	if run := next(t, runs, 1)[0].ce.Data.Maintenance; run == nil || run.Outcome == "" {
		t.Fatalf("maintenance run event without its record: %+v", run)
	}
}
