package server_test

// Confinement (issue 14): no client can make the server touch a path
// outside the table it names, and no metadata read can exhaust it. Each
// test reproduces a finding of the issue against a versitygw S3 warehouse
// and a file:// warehouse; each failed at 04078ef.

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/server"
)

// confEnv is one warehouse the confinement tests run against.
type confEnv struct {
	url     string
	wh      string // the warehouse root, no trailing slash
	outside string // a location outside the warehouse (another bucket or directory)
	root    string // the bucket or file system root
	logs    *lockedBuffer
	// put writes an object at an absolute location; exists reports whether
	// one is there.
	put    func(t *testing.T, loc string, data []byte)
	exists func(t *testing.T, loc string) bool
	client func(t *testing.T) *rest.Catalog
}

// confinementEnvs starts one catalog on each kind of warehouse. extra is
// YAML added to the config (allowedLocations).
func confinementEnvs(t *testing.T, extra func(wh string) string) map[string]func(t *testing.T) *confEnv {
	return map[string]func(t *testing.T) *confEnv{
		"s3": func(t *testing.T) *confEnv {
			s3 := testenv.StartS3(t)
			s3.CreateBucket(t, "lake")
			s3.CreateBucket(t, "other")
			e := &confEnv{wh: "s3://lake/wh", outside: "s3://other/private", root: "s3://lake"}
			yaml := fmt.Sprintf("anonymousAccess: {enabled: true, accessConfig: {readOnly: false}}\nwarehouse: %s\ns3: {endpoint: %q, pathStyleAccess: true, accessKeyID: %q, secretAccessKey: %q, region: %q}\nvendedCredentials: {staticKeys: true}\n",
				e.wh, s3.Endpoint, s3.AccessKey, s3.SecretKey, s3.Region)
			if extra != nil {
				yaml += extra(e.wh)
			}
			e.url, e.logs = startWithLog(t, yaml)
			s3path := func(loc string) string { return "/" + strings.TrimPrefix(loc, "s3://") }
			e.put = func(t *testing.T, loc string, data []byte) {
				t.Helper()
				req, err := s3.NewRequest(context.Background(), "PUT", s3path(loc), data)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("put %s: %d", loc, resp.StatusCode)
				}
			}
			e.exists = func(t *testing.T, loc string) bool {
				t.Helper()
				req, err := s3.NewRequest(context.Background(), "HEAD", s3path(loc), nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode == 200
			}
			e.client = func(t *testing.T) *rest.Catalog {
				return testenv.Client(t, e.url, rest.WithHeaders(map[string]string{"X-Iceberg-Access-Delegation": "vended-credentials"}))
			}
			return e
		},
		"file": func(t *testing.T) *confEnv {
			dir := t.TempDir()
			e := &confEnv{wh: "file://" + dir + "/wh", outside: "file://" + dir + "/outside", root: "file:///"}
			yaml := "anonymousAccess: {enabled: true, accessConfig: {readOnly: false}}\nwarehouse: " + e.wh + "\n"
			if extra != nil {
				yaml += extra(e.wh)
			}
			e.url, e.logs = startWithLog(t, yaml)
			e.put = func(t *testing.T, loc string, data []byte) {
				t.Helper()
				p := strings.TrimPrefix(loc, "file://")
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			e.exists = func(t *testing.T, loc string) bool {
				_, err := os.Stat(strings.TrimPrefix(loc, "file://"))
				return err == nil
			}
			e.client = func(t *testing.T) *rest.Catalog { return testenv.Client(t, e.url) }
			return e
		},
	}
}

var confSchema = map[string]any{"type": "struct", "schema-id": 0, "fields": []any{map[string]any{"id": 1, "name": "id", "type": "long", "required": true}}}

func (e *confEnv) mustNamespace(t *testing.T, ns ...string) {
	t.Helper()
	if st, b := call(t, "POST", e.url+"/v1/namespaces", "", map[string]any{"namespace": ns}); st != 200 {
		t.Fatalf("create namespace %v: %d %v", ns, st, b)
	}
}

// mustTable creates ns.name and returns its loadTable answer.
func (e *confEnv) mustTable(t *testing.T, ns, name string, body map[string]any) map[string]any {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	body["name"], body["schema"] = name, confSchema
	st, b := call(t, "POST", e.url+"/v1/namespaces/"+url.PathEscape(ns)+"/tables", "", body)
	if st != 200 {
		t.Fatalf("create %s.%s: %d %v", ns, name, st, b)
	}
	return b
}

func tableLocation(b map[string]any) string {
	return b["metadata"].(map[string]any)["location"].(string)
}

// want400 checks a 400 ErrorModel whose message names the broken rule.
func want400(t *testing.T, what string, st int, b map[string]any, mentions string) {
	t.Helper()
	wantError(t, what, st, b, 400)
	if e, _ := b["error"].(map[string]any); e != nil && mentions != "" && !strings.Contains(fmt.Sprint(e["message"]), mentions) {
		t.Errorf("%s: message %q does not mention %q", what, e["message"], mentions)
	}
}

// Finding 1: a client chose any location, through five routes, and the
// server then wrote, signed and listed there.
func TestConfinementLocations(t *testing.T) {
	for name, start := range confinementEnvs(t, nil) {
		t.Run(name, func(t *testing.T) {
			e := start(t)
			e.mustNamespace(t, "a")
			e.mustNamespace(t, "b")
			bt := e.mustTable(t, "b", "t", nil)
			bLoc := tableLocation(bt)
			if bLoc != e.wh+"/b/t" {
				t.Fatalf("default location %s", bLoc)
			}
			tables := e.url + "/v1/namespaces/a/tables"
			for _, loc := range []string{
				e.wh + "/b/secret",          // another namespace's area
				bLoc,                        // another table's location
				e.outside,                   // another bucket, or outside the warehouse
				e.root,                      // a bucket or file system root
				e.wh,                        // the warehouse itself
				e.wh + "/a",                 // the namespace area itself
				e.wh + "/a/../b/secret",     // dot segments
				e.wh + "/a/%2e%2e/b/secret", // encoded dot segments
				"/b/secret/",                // scheme-less (ClickHouse)
				"b/secret",                  // relative
				"file:///etc",               // another scheme, a system directory
				"hdfs://nn/wh/a/x",          // an unsupported scheme
			} {
				st, b := call(t, "POST", tables, "", map[string]any{"name": "evil", "schema": confSchema, "location": loc})
				want400(t, "createTable at "+loc, st, b, "")
			}
			if st, _ := call(t, "GET", tables+"/evil", "", nil); st != 404 {
				t.Fatalf("a refused create left a table: %d", st)
			}

			ok := e.mustTable(t, "a", "ok", nil)
			okLoc := tableLocation(ok)
			commit := func(updates ...map[string]any) (int, map[string]any) {
				return call(t, "POST", tables+"/ok", "", map[string]any{"requirements": []any{}, "updates": updates})
			}
			for what, u := range map[string]map[string]any{
				"set-location into b":     {"action": "set-location", "location": e.wh + "/b/secret"},
				"set-location outside":    {"action": "set-location", "location": e.outside},
				"set-location to root":    {"action": "set-location", "location": e.root},
				"write.metadata.path":     {"action": "set-properties", "updates": map[string]string{"write.metadata.path": bLoc + "/metadata"}},
				"write.data.path":         {"action": "set-properties", "updates": map[string]string{"write.data.path": e.outside}},
				"write.data.path dotdot":  {"action": "set-properties", "updates": map[string]string{"write.data.path": okLoc + "/../../b/t/data"}},
				"write.metadata.path rel": {"action": "set-properties", "updates": map[string]string{"write.metadata.path": "metadata"}},
			} {
				st, b := commit(u)
				want400(t, what, st, b, "")
			}
			// Inside its own location, both properties are fine.
			if st, b := commit(map[string]any{"action": "set-properties", "updates": map[string]string{"write.metadata.path": okLoc + "/meta2", "write.data.path": okLoc + "/d"}}); st != 200 {
				t.Fatalf("paths inside the table: %d %v", st, b)
			} else if ml := b["metadata-location"].(string); !strings.HasPrefix(ml, okLoc+"/meta2/") {
				t.Fatalf("metadata written at %s, not under write.metadata.path", ml)
			}

			// A namespace location property outside its area.
			for _, loc := range []string{e.wh + "/b", e.outside, e.root} {
				st, b := call(t, "POST", e.url+"/v1/namespaces", "", map[string]any{"namespace": []string{"c"}, "properties": map[string]string{"location": loc}})
				want400(t, "create namespace with location "+loc, st, b, "location")
				st, b = call(t, "POST", e.url+"/v1/namespaces/a/properties", "", map[string]any{"updates": map[string]string{"location": loc}})
				want400(t, "set namespace location "+loc, st, b, "location")
			}
			st, b := call(t, "POST", e.url+"/v1/namespaces/a/properties", "", map[string]any{"updates": map[string]string{"location": e.wh + "/a/custom"}})
			if st != 200 {
				t.Fatalf("a namespace location inside its area: %d %v", st, b)
			}
			if got := tableLocation(e.mustTable(t, "a", "placed", nil)); got != e.wh+"/a/custom/placed" {
				t.Fatalf("table under the namespace location: %s", got)
			}

			// Views.
			view := map[string]any{"name": "v", "schema": confSchema, "location": e.wh + "/b/v",
				"view-version": map[string]any{"version-id": 1, "timestamp-ms": time.Now().UnixMilli(), "schema-id": 0, "summary": map[string]string{},
					"default-namespace": []string{"a"}, "representations": []any{map[string]any{"type": "sql", "sql": "select 1", "dialect": "spark"}}}}
			st, b = call(t, "POST", e.url+"/v1/namespaces/a/views", "", view)
			want400(t, "createView in b's area", st, b, "")
			view["location"] = e.outside
			st, b = call(t, "POST", e.url+"/v1/namespaces/a/views", "", view)
			want400(t, "createView outside", st, b, "")
			delete(view, "location")
			if st, b = call(t, "POST", e.url+"/v1/namespaces/a/views", "", view); st != 200 {
				t.Fatalf("createView at its default location: %d %v", st, b)
			}
			st, b = call(t, "POST", e.url+"/v1/namespaces/a/views/v", "", map[string]any{"requirements": []any{},
				"updates": []any{map[string]any{"action": "set-location", "location": e.wh + "/b/v"}}})
			want400(t, "replaceView set-location into b", st, b, "")

			// Nothing was written outside a's area.
			for _, p := range []string{e.wh + "/b/secret/metadata", e.outside + "/metadata"} {
				if e.exists(t, p) {
					t.Errorf("%s exists", p)
				}
			}
		})
	}
}

// Finding 2: a commit that adds paths outside the table (another table's
// manifest list, statistics files anywhere) is refused and changes
// nothing; purge and delete-after-commit delete only inside the table.
func TestConfinementCommitPathsAndPurge(t *testing.T) {
	for name, start := range confinementEnvs(t, nil) {
		t.Run(name, func(t *testing.T) {
			e := start(t)
			e.mustNamespace(t, "a")
			e.mustNamespace(t, "b")
			bLoc := tableLocation(e.mustTable(t, "b", "t", nil))
			bList := bLoc + "/metadata/snap-1.avro"
			e.put(t, bList, []byte("b's manifest list"))
			victim := e.outside + "/victim.txt"
			e.put(t, victim, []byte("victim"))

			a := e.mustTable(t, "a", "p", map[string]any{"properties": map[string]string{"write.metadata.delete-after-commit.enabled": "true", "write.metadata.previous-versions-max": "1"}})
			aLoc, before := tableLocation(a), a["metadata-location"].(string)
			path := e.url + "/v1/namespaces/a/tables/p"
			snap := func(id int, list string) map[string]any {
				return map[string]any{"action": "add-snapshot", "snapshot": map[string]any{"snapshot-id": id, "sequence-number": 1,
					"timestamp-ms": time.Now().UnixMilli(), "manifest-list": list, "summary": map[string]string{"operation": "append"}, "schema-id": 0}}
			}
			stats := func(action, key, p string) map[string]any {
				return map[string]any{"action": action, "snapshot-id": 1, key: map[string]any{"snapshot-id": 1, "statistics-path": p,
					"file-size-in-bytes": 10, "file-footer-size-in-bytes": 4, "blob-metadata": []any{}}}
			}
			for what, updates := range map[string][]any{
				"manifest-list of b":        {snap(1, bList)},
				"manifest-list outside":     {snap(1, victim)},
				"manifest-list dotdot":      {snap(1, aLoc+"/../../b/t/metadata/snap-1.avro")},
				"statistics outside":        {snap(1, aLoc+"/metadata/snap-1.avro"), stats("set-statistics", "statistics", victim)},
				"partition statistics of b": {snap(1, aLoc+"/metadata/snap-1.avro"), stats("set-partition-statistics", "partition-statistics", bList)},
			} {
				st, b := call(t, "POST", path, "", map[string]any{"requirements": []any{}, "updates": updates})
				mention := "outside the table's location"
				if strings.Contains(what, "dotdot") {
					mention = "'..'"
				}
				want400(t, what, st, b, mention)
			}
			if _, b := call(t, "GET", path, "", nil); b["metadata-location"] != before {
				t.Fatalf("a refused commit moved the table: %v", b["metadata-location"])
			}
			// Commits inside the table still work, and delete-after-commit
			// deletes the trimmed file, which lies inside the table.
			for i := 0; i < 2; i++ {
				if st, b := call(t, "POST", path, "", map[string]any{"requirements": []any{},
					"updates": []any{map[string]any{"action": "set-properties", "updates": map[string]string{"k": fmt.Sprint(i)}}}}); st != 200 {
					t.Fatalf("commit inside: %d %v", st, b)
				}
			}
			if e.exists(t, before) {
				t.Errorf("delete-after-commit kept %s", before)
			}

			// Purge: nothing outside the table goes, b still loads.
			if st, b := call(t, "DELETE", path+"?purgeRequested=true", "", nil); st != 204 {
				t.Fatalf("purge: %d %v", st, b)
			}
			if !e.exists(t, victim) || !e.exists(t, bList) {
				t.Fatal("purge deleted files outside the table")
			}
			if st, b := call(t, "GET", e.url+"/v1/namespaces/b/tables/t", "", nil); st != 200 {
				t.Fatalf("b after a's purge: %d %v", st, b)
			}
		})
	}
}

// Findings 2 and 8: register of another table's metadata, then purge,
// deleted that table's files; two tables sharing a location (even via an
// allowed prefix that covers both) are refused by the overlap rule.
func TestConfinementRegisterAndOverlap(t *testing.T) {
	allow := func(wh string) string {
		// An admin allowing the whole bucket (or parent directory) must
		// still not let two tables share files.
		return "allowedLocations: [" + wh[:strings.LastIndex(wh, "/")] + "/]\n"
	}
	for name, start := range confinementEnvs(t, allow) {
		t.Run(name, func(t *testing.T) {
			e := start(t)
			e.mustNamespace(t, "a")
			e.mustNamespace(t, "b")
			bt := e.mustTable(t, "b", "t", nil)
			bMeta, bLoc := bt["metadata-location"].(string), tableLocation(bt)
			st, b := call(t, "POST", e.url+"/v1/namespaces/a/register", "", map[string]any{"name": "stolen", "metadata-location": bMeta})
			want400(t, "register b's metadata as a.stolen", st, b, "overlaps")
			if st, _ := call(t, "DELETE", e.url+"/v1/namespaces/a/tables/stolen?purgeRequested=true", "", nil); st != 404 {
				t.Fatalf("purge of a refused register: %d", st)
			}
			if !e.exists(t, bMeta) {
				t.Fatal("b's metadata file is gone")
			}
			if st, b := call(t, "GET", e.url+"/v1/namespaces/b/tables/t", "", nil); st != 200 {
				t.Fatalf("b after the attempt: %d %v", st, b)
			}

			// Nested and overlapping locations, in both orders, tables and views.
			for _, loc := range []string{bLoc, bLoc + "/inner", bLoc[:strings.LastIndex(bLoc, "/")] + "/t/x"} {
				st, b := call(t, "POST", e.url+"/v1/namespaces/a/tables", "", map[string]any{"name": "n", "schema": confSchema, "location": loc})
				want400(t, "table inside b.t at "+loc, st, b, "overlaps")
			}
			outer := strings.TrimSuffix(bLoc, "/t")
			st, b = call(t, "POST", e.url+"/v1/namespaces/a/tables", "", map[string]any{"name": "n", "schema": confSchema, "location": outer})
			want400(t, "table around b.t", st, b, "overlaps")
			// A namespace b.t puts its tables under the table b.t.
			e.mustNamespace(t, "b", "t")
			st, b = call(t, "POST", e.url+"/v1/namespaces/b%1Ft/tables", "", map[string]any{"name": "inner", "schema": confSchema})
			want400(t, "table of namespace b.t under table b.t", st, b, "overlaps")

			// Dropping b.t frees its location; the registered copy can then
			// take it, and is the only owner.
			if st, _ := call(t, "DELETE", e.url+"/v1/namespaces/b/tables/t", "", nil); st != 204 {
				t.Fatalf("drop b.t: %d", st)
			}
			if st, b := call(t, "POST", e.url+"/v1/namespaces/a/register", "", map[string]any{"name": "adopted", "metadata-location": bMeta}); st != 200 {
				t.Fatalf("register after the drop: %d %v", st, b)
			}
			// A rename keeps the claim with the table.
			if st, b := call(t, "POST", e.url+"/v1/tables/rename", "", map[string]any{
				"source": map[string]any{"namespace": []string{"a"}, "name": "adopted"}, "destination": map[string]any{"namespace": []string{"a"}, "name": "renamed"}}); st != 204 {
				t.Fatalf("rename: %d %v", st, b)
			}
			st, b = call(t, "POST", e.url+"/v1/namespaces/b/tables", "", map[string]any{"name": "t", "schema": confSchema, "location": bLoc})
			want400(t, "re-create b.t at a.renamed's location", st, b, "a.renamed")
			// Without a location, the new b.t goes beside the taken default.
			st, b = call(t, "POST", e.url+"/v1/namespaces/b/tables", "", map[string]any{"name": "t", "schema": confSchema})
			if st != 200 || !strings.HasPrefix(tableLocation(b), bLoc+"-") {
				t.Fatalf("re-create b.t with the default location taken: %d %v", st, b)
			}
		})
	}
}

// Findings 4 and 7: register of /dev/zero grew memory until the process
// died; /etc/passwd, a missing file and a directory answered 500, 400 and
// 503 and the log quoted the file. Now every file that is not valid
// metadata inside the allowed area gets one 400, quickly, and the log
// quotes nothing.
func TestConfinementRegisterBounded(t *testing.T) {
	for name, start := range confinementEnvs(t, nil) {
		t.Run(name, func(t *testing.T) {
			e := start(t)
			e.mustNamespace(t, "a")
			var zeros bytes.Buffer
			zw := gzip.NewWriter(&zeros)
			chunk := make([]byte, 1<<20)
			for i := 0; i < 80; i++ { // 80 MiB of zeros: a bomb over the 64 MiB limit
				zw.Write(chunk)
			}
			zw.Close()
			bomb := e.wh + "/a/bomb/metadata/00000-bomb.metadata.json"
			e.put(t, bomb, zeros.Bytes())
			junk := e.wh + "/a/junk/metadata/00000-junk.metadata.json"
			e.put(t, junk, []byte("root:x:0:0:root:/root:/bin/bash\n"))
			locs := []string{"file:///dev/zero", "file:///etc/passwd", "/etc/passwd", e.wh + "/a/missing/metadata/1.metadata.json",
				e.wh + "/a", e.outside + "/x.metadata.json", bomb, junk}
			if name == "file" {
				huge := strings.TrimPrefix(e.wh, "file://") + "/a/huge/metadata/00000-huge.metadata.json"
				os.MkdirAll(filepath.Dir(huge), 0o755)
				f, err := os.Create(huge)
				if err != nil {
					t.Fatal(err)
				}
				f.Truncate(1 << 30) // sparse: 1 GiB read as zeros
				f.Close()
				locs = append(locs, "file://"+huge)
			}
			var first string
			for _, loc := range locs {
				began := time.Now()
				st, b := call(t, "POST", e.url+"/v1/namespaces/a/register", "", map[string]any{"name": "z", "metadata-location": loc})
				wantError(t, "register "+loc, st, b, 400)
				msg := fmt.Sprint(b["error"].(map[string]any)["message"])
				if first == "" {
					first = msg
				} else if msg != first {
					t.Errorf("register %s: message %q differs from %q", loc, msg, first)
				}
				if d := time.Since(began); d > 20*time.Second {
					t.Errorf("register %s took %v", loc, d)
				}
			}
			if strings.Contains(e.logs.b.String(), "root:x") || strings.Contains(e.logs.b.String(), `'r'`) {
				t.Error("the log quotes a refused file's contents")
			}
		})
	}
}

// Finding 8: a name with a space, '%' and non-ASCII characters got a
// percent-escaped metadata-location outside its literal location; x%41
// wrote into xA's directory.
func TestConfinementNamesMapLiterally(t *testing.T) {
	for name, start := range confinementEnvs(t, nil) {
		t.Run(name, func(t *testing.T) {
			e := start(t)
			ns, tbl := "sp ace %25 ü€", "tä ble %41"
			e.mustNamespace(t, ns)
			b := e.mustTable(t, ns, tbl, nil)
			loc, ml := tableLocation(b), b["metadata-location"].(string)
			if loc != e.wh+"/"+ns+"/"+tbl {
				t.Fatalf("location %q", loc)
			}
			if !strings.HasPrefix(ml, loc+"/metadata/") {
				t.Fatalf("metadata-location %q is not literally under location %q", ml, loc)
			}
			if !e.exists(t, ml) {
				t.Fatalf("no object at the literal metadata-location %q", ml)
			}
			// The real iceberg-go client reads one back, through its own
			// FileIO. (Its REST client unescapes '%' in identifiers, so
			// it cannot name tables with a '%': space and non-ASCII here.)
			cat := e.client(t)
			ns2, tbl2 := "sp ace ü€", "tä ble"
			e.mustNamespace(t, ns2)
			loc2 := tableLocation(e.mustTable(t, ns2, tbl2, nil))
			got, err := cat.LoadTable(context.Background(), table.Identifier{ns2, tbl2})
			if err != nil {
				t.Fatal(err)
			}
			fs, err := got.FS(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			f, err := fs.Open(got.MetadataLocation())
			if err != nil {
				t.Fatalf("iceberg-go opens %q: %v", got.MetadataLocation(), err)
			}
			raw, _ := io.ReadAll(f)
			f.Close()
			if !strings.HasPrefix(got.MetadataLocation(), loc2+"/metadata/") {
				t.Fatalf("iceberg-go sees metadata-location %q outside %q", got.MetadataLocation(), loc2)
			}
			if parsed, err := table.ParseMetadataBytes(raw); err != nil || parsed.Location() != loc2 {
				t.Fatalf("metadata read back by iceberg-go: %v", err)
			}

			e.mustNamespace(t, "n")
			x := e.mustTable(t, "n", "x%41", nil)
			if ml := x["metadata-location"].(string); !strings.HasPrefix(ml, e.wh+"/n/x%41/metadata/") {
				t.Fatalf("x%%41's metadata at %s", ml)
			}
			// Keys are literal, so xA has a directory of its own: the two
			// tables never share files.
			xa := e.mustTable(t, "n", "xA", nil)
			if ml := xa["metadata-location"].(string); !strings.HasPrefix(ml, e.wh+"/n/xA/metadata/") {
				t.Fatalf("xA's metadata at %s", ml)
			}
			for _, tb := range []map[string]any{x, xa} {
				if !e.exists(t, tb["metadata-location"].(string)) {
					t.Fatalf("missing %s", tb["metadata-location"])
				}
			}
			// A location naming the other's directory is an overlap.
			st, bb := call(t, "POST", e.url+"/v1/namespaces/n/tables", "", map[string]any{"name": "y", "schema": confSchema, "location": e.wh + "/n/x%41"})
			want400(t, "y at x%41's location", st, bb, "overlaps")
		})
	}
}

// Finding 1, signing: with a table at another namespace's location, the
// signer signed reads, listings and writes of b's files. Such a table can
// no longer exist, and the signer refuses what lies outside a's own.
func TestConfinementSigning(t *testing.T) {
	s3 := testenv.StartS3(t)
	s3.CreateBucket(t, "lake")
	cfg := testenv.CatalogConfig(t)
	cfg.Warehouse = "s3://lake/wh"
	cfg.S3 = config.S3{Endpoint: s3.Endpoint, PathStyleAccess: true, AccessKeyID: s3.AccessKey, SecretAccessKey: s3.SecretKey, Region: s3.Region}
	cfg.RemoteSigning.Enabled = true
	withTokens(cfg)
	c := testenv.StartCatalog(t, cfg)
	for _, ns := range []string{"a", "b"} {
		if st, b := call(t, "POST", c.URL+"/v1/namespaces", writerToken, map[string]any{"namespace": []string{ns}}); st != 200 {
			t.Fatalf("namespace: %d %v", st, b)
		}
	}
	for _, loc := range []string{"s3://lake/wh/b/secret", "s3://lake", "s3://other/private"} {
		st, b := call(t, "POST", c.URL+"/v1/namespaces/a/tables", writerToken, map[string]any{"name": "evil", "schema": confSchema, "location": loc})
		want400(t, "create a.evil at "+loc, st, b, "")
	}
	if st, b := call(t, "POST", c.URL+"/v1/namespaces/b/tables", writerToken, map[string]any{"name": "t", "schema": confSchema}); st != 200 {
		t.Fatalf("b.t: %d %v", st, b)
	}
	if st, b := call(t, "POST", c.URL+"/v1/namespaces/a/tables", writerToken, map[string]any{"name": "ok", "schema": confSchema}); st != 200 {
		t.Fatalf("a.ok: %d %v", st, b)
	}
	ok := remoteS3{t: t, signURL: c.URL + "/v1/namespaces/a/tables/ok/sign", token: writerToken, endpoint: s3.Endpoint}
	for _, p := range []string{"/lake/wh/b/t/metadata/x", "/lake?list-type=2&prefix=wh/b/", "/lake?list-type=2&prefix=", "/lake/wh/a/ok/../../b/t/x"} {
		if sc, _, _ := ok.do("GET", p, nil); sc != http.StatusForbidden {
			t.Errorf("sign GET %s for a.ok: %d, want 403", p, sc)
		}
	}
	if sc, _, _ := ok.do("PUT", "/lake/wh/b/t/data/planted", []byte("x")); sc != http.StatusForbidden {
		t.Errorf("sign PUT into b for a.ok: %d, want 403", sc)
	}
}

// Finding 7: catalog-import wrote no audit line and accepted any
// metadata_location.
func TestConfinementCatalogImport(t *testing.T) {
	dir := t.TempDir()
	cfg := parseConfig(t, "warehouse: file://"+dir+"/wh\nbearerTokens:\n- {name: admin, value: "+adminToken+"}\n")
	logs := &lockedBuffer{}
	srv, err := server.Start(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	testenv.WaitReady(t, "http://"+srv.DebugAddr()+"/readyz")
	base := "http://" + srv.Addr()
	snap := func(loc string) map[string]any {
		return map[string]any{"version": 1, "catalog_name": "default", "exported_at": "2026-01-01T00:00:00Z",
			"namespaces": []any{map[string]any{"key": "n/a", "value": map[string]string{}}},
			"tables":     []any{map[string]any{"key": "t/a/x", "value": map[string]string{"table_type": "ICEBERG", "metadata_location": loc}}}}
	}
	for _, loc := range []string{"file:///etc/passwd", "s3://other/m.metadata.json", "file://" + dir + "/elsewhere/m.metadata.json", "/wh/a/x/m.json"} {
		st, b := call(t, "POST", base+"/admin/v1/catalog-import", adminToken, snap(loc))
		want400(t, "import of "+loc, st, b, "metadata_location")
	}
	if st, b := call(t, "POST", base+"/admin/v1/catalog-import?dry-run=true", adminToken, snap("file://"+dir+"/wh/a/x/metadata/00000-x.metadata.json")); st != 200 {
		t.Fatalf("import inside the warehouse: %d %v", st, b)
	}
	var outcomes []string
	for _, l := range logs.auditLines() {
		if l["operation"] == "catalogImport" {
			outcomes = append(outcomes, fmt.Sprint(l["outcome"]))
		}
	}
	if len(outcomes) != 5 || outcomes[4] != "ok" || outcomes[0] != "invalid" {
		t.Fatalf("catalog-import audit lines: %v", outcomes)
	}
}

// Finding 1, tables written before the rule (or by the Java server): a
// stored location at a bucket root or outside the warehouse is not signed
// for, nor are credentials vended for it.
func TestConfinementLegacyLocations(t *testing.T) {
	s3 := testenv.StartS3(t)
	s3.CreateBucket(t, "lake")
	cfg := testenv.CatalogConfig(t)
	cfg.Warehouse = "s3://lake/wh"
	cfg.S3 = config.S3{Endpoint: s3.Endpoint, PathStyleAccess: true, AccessKeyID: s3.AccessKey, SecretAccessKey: s3.SecretKey, Region: s3.Region}
	cfg.RemoteSigning.Enabled = true
	cfg.VendedCredentials.StaticKeys = true
	withTokens(cfg)
	c := testenv.StartCatalog(t, cfg)
	if st, b := call(t, "POST", c.URL+"/v1/namespaces", writerToken, map[string]any{"namespace": []string{"a"}}); st != 200 {
		t.Fatalf("namespace: %d %v", st, b)
	}
	// A metadata file whose table location is the whole bucket, and an
	// entry pointing at it, as an older server let a client write.
	meta := "s3://lake/wh/a/legacy/metadata/00000-legacy.metadata.json"
	plantBucketRootTable(t, s3, c.Server.EtcdEndpoint(), meta, "t/a/legacy")
	w := remoteS3{t: t, signURL: c.URL + "/v1/namespaces/a/tables/legacy/sign", token: writerToken, endpoint: s3.Endpoint}
	for _, p := range []string{"/lake?list-type=2&prefix=", "/lake/wh/b/t/data/f.parquet"} {
		if sc, _, _ := w.do("GET", p, nil); sc != 400 {
			t.Errorf("sign %s for a table at the bucket root: %d, want 400", p, sc)
		}
	}
	st, b := callAPI(t, "GET", c.URL+"/v1/namespaces/a/tables/legacy", writerToken, nil, "X-Iceberg-Access-Delegation", "vended-credentials")
	want400(t, "vend for a table at the bucket root", st, b, "outside the warehouse")
}

// Finding 1, STS vending: the session policy's prefix is the table's
// location, so a table at the bucket root would get credentials for the
// whole bucket. Such a location cannot be created, and a stored one
// (legacy) gets no credentials.
func TestConfinementSTSVending(t *testing.T) {
	m, c := startSTSCatalog(t)
	createTables(t, c.URL, "t")
	for _, loc := range []string{"s3://lake", "s3://lake/cat", "s3://lake/cat/other/x"} {
		st, b := callAPI(t, "POST", c.URL+"/v1/namespaces/ns/tables", writerToken, map[string]any{"name": "evil", "schema": confSchema, "location": loc})
		want400(t, "create at "+loc, st, b, "")
	}
	plantBucketRootTable(t, m, c.Server.EtcdEndpoint(), "s3://lake/cat/ns/legacy/metadata/00000-legacy.metadata.json", "t/ns/legacy")
	st, b := callAPI(t, "GET", c.URL+"/v1/namespaces/ns/tables/legacy", writerToken, nil, "X-Iceberg-Access-Delegation", "vended-credentials")
	want400(t, "STS vending for a table at the bucket root", st, b, "outside the warehouse")
	st, b = callAPI(t, "GET", c.URL+"/v1/namespaces/ns/tables/legacy/credentials", writerToken, nil)
	want400(t, "loadCredentials for a table at the bucket root", st, b, "outside the warehouse")
}

// plantBucketRootTable writes, as an older server let a client write, a
// metadata file at meta (s3://lake/...) whose table location is the whole
// bucket, and the etcd entry key pointing at it.
func plantBucketRootTable(t *testing.T, store interface {
	NewRequest(ctx context.Context, method, path string, body []byte) (*http.Request, error)
}, etcdEndpoint, meta, key string) {
	t.Helper()
	md := `{"format-version":2,"table-uuid":"9c12d441-03fe-4693-9a96-a0705ddf69c1","location":"s3://lake","last-sequence-number":0,"last-updated-ms":1,"last-column-id":1,"current-schema-id":0,"schemas":[{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"id","type":"long","required":true}]}],"default-spec-id":0,"partition-specs":[{"spec-id":0,"fields":[]}],"last-partition-id":999,"default-sort-order-id":0,"sort-orders":[{"order-id":0,"fields":[]}]}`
	req, err := store.NewRequest(context.Background(), "PUT", strings.TrimPrefix(meta, "s3:/"), []byte(md))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("put metadata: %v %v", resp, err)
	}
	resp.Body.Close()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdEndpoint}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Put(context.Background(), key, `{"metadata_location":"`+meta+`","table_type":"ICEBERG"}`); err != nil {
		t.Fatal(err)
	}
}
