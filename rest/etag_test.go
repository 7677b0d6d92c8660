package rest_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// specAPI is newAPI behind the OpenAPI validator: the test fails on any
// request or answer that the spec does not allow.
func specAPI(t *testing.T) *api {
	t.Helper()
	a := newAPI(t, anonymousRW())
	v := testenv.NewSpecValidator(t)
	v.FailOnViolations(t)
	srv := httptest.NewServer(v.Wrap(a.h))
	t.Cleanup(srv.Close)
	return &api{Server: srv, h: a.h}
}

// post sends a JSON body as a client should, with its Content-Type: the
// spec validator insists on one.
func (a *api) post(t *testing.T, path, body string) reply {
	t.Helper()
	return a.do(t, "POST", path, body, "Content-Type", "application/json")
}

// createTable makes namespace db and table db.t and returns the answer.
func (a *api) createTable(t *testing.T) reply {
	t.Helper()
	if r := a.post(t, "/v1/namespaces", `{"namespace":["db"]}`); r.status != 200 {
		t.Fatalf("create namespace: %s", r.raw)
	}
	r := a.post(t, "/v1/namespaces/db/tables", `{"name":"t","schema":`+schema+`}`)
	if r.status != 200 {
		t.Fatalf("create table: %s", r.raw)
	}
	return r
}

// strongETag matches a quoted entity-tag without the weak W/ prefix.
var strongETag = regexp.MustCompile(`^"[\x21\x23-\x7e]+"$`)

func etagOf(t *testing.T, r reply, what string) string {
	t.Helper()
	e := r.header.Get("ETag")
	if !strongETag.MatchString(e) {
		t.Fatalf("%s: ETag %q is not a quoted strong entity-tag (status %d)", what, e, r.status)
	}
	return e
}

func TestETagAndIfNoneMatch(t *testing.T) {
	a := specAPI(t)
	created := etagOf(t, a.createTable(t), "createTable")
	const path = "/v1/namespaces/db/tables/t"

	loaded := etagOf(t, a.do(t, "GET", path, ""), "loadTable")
	if loaded != created {
		t.Errorf("load ETag %s differs from create's %s for the same metadata", loaded, created)
	}
	if e := etagOf(t, a.do(t, "GET", path+"?snapshots=all", ""), "loadTable all"); e != loaded {
		t.Errorf("snapshots=all ETag %s differs from the default's %s; the body is the same", e, loaded)
	}
	refs := etagOf(t, a.do(t, "GET", path+"?snapshots=refs", ""), "loadTable refs")
	if refs == loaded {
		t.Error("snapshots=refs and snapshots=all share an ETag; the spec wants distinct ones")
	}
	vended := etagOf(t, a.do(t, "GET", path, "", "X-Iceberg-Access-Delegation", "vended-credentials"), "loadTable vended")
	if vended == loaded {
		t.Error("a vended-credentials answer shares the ETag of one without the keys")
	}

	for _, inm := range []string{loaded, `"other", ` + loaded, "*", "W/" + loaded} {
		r := a.do(t, "GET", path, "", "If-None-Match", inm)
		if r.status != 304 || r.raw != "" {
			t.Errorf("If-None-Match %s: %d %q, want 304 and no body", inm, r.status, r.raw)
		}
		if r.header.Get("ETag") != loaded {
			t.Errorf("If-None-Match %s: 304 carries ETag %q, want %s", inm, r.header.Get("ETag"), loaded)
		}
	}
	for _, c := range []struct{ query, inm string }{
		{"", `"other"`},
		{"?snapshots=refs", loaded}, // all's tag does not validate the refs body
		{"", refs},
	} {
		if r := a.do(t, "GET", path+c.query, "", "If-None-Match", c.inm); r.status != 200 {
			t.Errorf("GET %s If-None-Match %s: %d, want 200", c.query, c.inm, r.status)
		}
	}
	if r := a.do(t, "GET", path+"?snapshots=refs", "", "If-None-Match", refs); r.status != 304 {
		t.Errorf("refs with its own ETag: %d, want 304", r.status)
	}
	if r := a.do(t, "GET", "/v1/namespaces/db/tables/none", "", "If-None-Match", "*"); r.status != 404 {
		t.Errorf("If-None-Match on a missing table: %d, want 404", r.status)
	}

	c := a.post(t, path, `{"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`)
	if c.status != 200 {
		t.Fatalf("commit: %s", c.raw)
	}
	committed := etagOf(t, c, "commit")
	if committed == loaded {
		t.Fatal("the commit's ETag equals the one before it")
	}
	r := a.do(t, "GET", path, "", "If-None-Match", loaded)
	if r.status != 200 {
		t.Fatalf("stale If-None-Match after a commit: %d, want 200", r.status)
	}
	if e := etagOf(t, r, "load after commit"); e != committed {
		t.Errorf("load after commit ETag %s, want the commit's %s", e, committed)
	}
	if !strings.Contains(string(r.raw), `"k":"v"`) {
		t.Errorf("stale If-None-Match answered without the commit's metadata: %.300s", r.raw)
	}
	if r := a.do(t, "GET", path, "", "If-None-Match", committed); r.status != 304 {
		t.Errorf("If-None-Match with the commit's ETag: %d, want 304", r.status)
	}
}

// snapshotJSON is a snapshot for an add-snapshot update. Nothing reads its
// manifest list: the catalog only records snapshots.
func snapshotJSON(loc string, id, parent, seq int64) string {
	p := ""
	if parent != 0 {
		p = fmt.Sprintf(`"parent-snapshot-id":%d,`, parent)
	}
	// Timestamps must not precede the table's last update.
	return fmt.Sprintf(`{"snapshot-id":%d,%s"sequence-number":%d,"timestamp-ms":%d,"manifest-list":"%s/metadata/snap-%d.avro","summary":{"operation":"append"},"schema-id":0}`,
		id, p, seq, time.Now().UnixMilli()+id, loc, id)
}

func snapshotIDs(t *testing.T, md map[string]any) []int64 {
	t.Helper()
	var ids []int64
	snaps, _ := md["snapshots"].([]any)
	for _, s := range snaps {
		ids = append(ids, int64(s.(map[string]any)["snapshot-id"].(float64)))
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func TestLoadTableSnapshotsRefs(t *testing.T) {
	a := specAPI(t)
	loc := a.createTable(t).body["metadata"].(map[string]any)["location"].(string)
	const path = "/v1/namespaces/db/tables/t"
	// Three appends on main, each moving the branch on; snapshot 1 is also
	// tagged, snapshot 2 is left referenced by nothing.
	for i := int64(1); i <= 3; i++ {
		updates := fmt.Sprintf(`[{"action":"add-snapshot","snapshot":%s},{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":%d}]`,
			snapshotJSON(loc, i, i-1, i), i)
		if r := a.post(t, path, `{"requirements":[],"updates":`+updates+`}`); r.status != 200 {
			t.Fatalf("commit snapshot %d: %s", i, r.raw)
		}
	}
	if r := a.post(t, path, `{"requirements":[],"updates":[{"action":"set-snapshot-ref","ref-name":"v1","type":"tag","snapshot-id":1}]}`); r.status != 200 {
		t.Fatalf("tag: %s", r.raw)
	}

	all := a.do(t, "GET", path, "")
	refs := a.do(t, "GET", path+"?snapshots=refs", "")
	if all.status != 200 || refs.status != 200 {
		t.Fatalf("load: %d %d", all.status, refs.status)
	}
	allMD := all.body["metadata"].(map[string]any)
	refsMD := refs.body["metadata"].(map[string]any)
	if got := snapshotIDs(t, allMD); !reflect.DeepEqual(got, []int64{1, 2, 3}) {
		t.Fatalf("snapshots=all: %v, want [1 2 3]", got)
	}
	if got := snapshotIDs(t, refsMD); !reflect.DeepEqual(got, []int64{1, 3}) {
		t.Fatalf("snapshots=refs: %v, want [1 3]: main's head and the tag", got)
	}
	delete(allMD, "snapshots")
	delete(refsMD, "snapshots")
	if !reflect.DeepEqual(allMD, refsMD) {
		a, _ := json.Marshal(allMD)
		r, _ := json.Marshal(refsMD)
		t.Errorf("refs changed more than snapshots:\nall  %s\nrefs %s", a, r)
	}
	if all.body["metadata-location"] != refs.body["metadata-location"] || !reflect.DeepEqual(all.body["config"], refs.body["config"]) {
		t.Error("refs changed the answer outside metadata")
	}
}

func TestLoadCredentials(t *testing.T) {
	a := specAPI(t)
	created := a.createTable(t)
	r := a.do(t, "GET", "/v1/namespaces/db/tables/t/credentials", "")
	if r.status != 200 {
		t.Fatalf("loadCredentials: %d %s", r.status, r.raw)
	}
	creds := r.body["storage-credentials"].([]any)
	if len(creds) != 1 {
		t.Fatalf("storage-credentials = %v, want one", creds)
	}
	c := creds[0].(map[string]any)
	if want := created.body["metadata"].(map[string]any)["location"]; c["prefix"] != want {
		t.Errorf("prefix %v, want the table location %v", c["prefix"], want)
	}
	if cfg := c["config"].(map[string]any); len(cfg) != 2 || cfg["s3.access-key-id"] != "AK" || cfg["s3.secret-access-key"] != "SK" {
		t.Errorf("config = %v, want exactly the vended keys", cfg)
	}
	wantError(t, a.do(t, "GET", "/v1/namespaces/db/tables/none/credentials", ""), 404, "NoSuchTableException")
}

// TestLoadCredentialsNothingVended runs against a server with a file
// warehouse: it has no keys to vend, so the list is empty, never null.
func TestLoadCredentialsNothingVended(t *testing.T) {
	c := testenv.StartCatalog(t, testenv.CatalogConfig(t))
	a := &api{Server: &httptest.Server{URL: c.URL}}
	a.createTable(t)
	r := a.do(t, "GET", "/v1/namespaces/db/tables/t/credentials", "")
	if r.status != 200 || r.raw != `{"storage-credentials":[]}` {
		t.Fatalf("loadCredentials with nothing to vend: %d %s", r.status, r.raw)
	}
}

func TestUnregisterTable(t *testing.T) {
	a := specAPI(t)
	a.createTable(t)
	const path = "/v1/namespaces/db/tables/t"
	if r := a.post(t, path, `{"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`); r.status != 200 {
		t.Fatalf("commit: %s", r.raw)
	}
	before := a.do(t, "GET", path, "")

	r := a.do(t, "POST", path+"/unregister", "")
	if r.status != 200 {
		t.Fatalf("unregister: %d %s", r.status, r.raw)
	}
	loc, _ := r.body["metadata-location"].(string)
	if loc != before.body["metadata-location"] {
		t.Fatalf("unregister answered %q, want the last metadata location %v", loc, before.body["metadata-location"])
	}
	if !reflect.DeepEqual(r.body["metadata"], before.body["metadata"]) {
		t.Error("unregister's metadata is not the table's last metadata")
	}
	wantError(t, a.do(t, "GET", path, ""), 404, "NoSuchTableException")
	wantError(t, a.post(t, path, `{"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"w"}}]}`), 404, "NoSuchTableException")
	wantError(t, a.do(t, "POST", path+"/unregister", ""), 404, "NoSuchTableException")

	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(u.Path); err != nil {
		t.Fatalf("unregister removed the metadata file: %v", err)
	}
	// The answer is enough to bring the table back, with its history.
	reg := a.post(t, "/v1/namespaces/db/register", `{"name":"t2","metadata-location":"`+loc+`"}`)
	if reg.status != 200 || reg.body["metadata"].(map[string]any)["properties"].(map[string]any)["k"] != "v" {
		t.Fatalf("register the unregistered table: %d %s", reg.status, reg.raw)
	}
}
