package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/server"
)

// startBenchCatalog is startConsoleCatalog without the spec validator,
// which would check every multi-megabyte answer and be measured with it.
func startBenchCatalog(b *testing.B) string {
	b.Helper()
	text := fmt.Sprintf("addr: 127.0.0.1:0\ndebugAddr: 127.0.0.1:0\ndataDir: %s\nwarehouse: file://%s\nconsole: {enabled: true}\n"+
		"bearerTokens:\n  - {name: admin, value: %s}\n", b.TempDir(), b.TempDir(), adminToken)
	cfg, err := config.Parse([]byte(text), func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.Start(context.Background(), cfg, testenv.DiscardLogger())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	testenv.WaitReady(b, "http://"+srv.DebugAddr()+"/readyz")
	return "http://" + srv.Addr()
}

var benchSchema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
	iceberg.NestedField{ID: 2, Name: "bucket", Type: iceberg.PrimitiveTypes.Int32, Required: true})

// manyFiles commits one snapshot of files data files (written by
// iceberg-go's manifest writers, 10,000 to a manifest, in 100 partitions)
// to ns.name. The data files themselves are not written: the console
// reads only manifests.
func manyFiles(b *testing.B, url string, cat *rest.Catalog, name string, files int) {
	b.Helper()
	ctx := context.Background()
	spec := iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "bucket", Transform: iceberg.IdentityTransform{}})
	tbl, err := cat.CreateTable(ctx, table.Identifier{"bench", name}, benchSchema, catalog.WithPartitionSpec(&spec))
	if err != nil {
		b.Fatal(err)
	}
	loc := strings.TrimPrefix(tbl.Location(), "file://")
	snapID := rand.Int64N(1 << 62)
	var manifests []iceberg.ManifestFile
	var total int64
	for m := 0; m*10000 < files; m++ {
		var entries []iceberg.ManifestEntry
		for i := m * 10000; i < min(files, (m+1)*10000); i++ {
			size := int64(1<<20 + (i%64)<<20) // 1 to 64 MiB
			df, err := iceberg.NewDataFileBuilder(spec, iceberg.EntryContentData, fmt.Sprintf("file://%s/data/bucket=%d/f-%06d.parquet", loc, i%100, i),
				iceberg.ParquetFile, map[int]any{1000: int32(i % 100)}, nil, nil, 1000, size)
			if err != nil {
				b.Fatal(err)
			}
			total += size
			entries = append(entries, iceberg.NewManifestEntry(iceberg.EntryStatusADDED, &snapID, nil, nil, df.Build()))
		}
		p := filepath.Join(loc, "metadata", fmt.Sprintf("m-%d.avro", m))
		must(b, os.MkdirAll(filepath.Dir(p), 0o755))
		f, err := os.Create(p)
		must(b, err)
		mf, err := iceberg.WriteManifest("file://"+p, f, 2, spec, benchSchema, snapID, entries)
		must(b, err)
		must(b, f.Close())
		manifests = append(manifests, mf)
	}
	listPath := filepath.Join(loc, "metadata", "snap-"+uuid.NewString()+".avro")
	f, err := os.Create(listPath)
	must(b, err)
	seq := int64(1)
	must(b, iceberg.WriteManifestList(2, f, snapID, nil, &seq, 0, manifests))
	must(b, f.Close())
	commit := map[string]any{
		"requirements": []any{map[string]any{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": nil}},
		"updates": []any{
			map[string]any{"action": "add-snapshot", "snapshot": map[string]any{"snapshot-id": snapID, "sequence-number": 1,
				"timestamp-ms": time.Now().UnixMilli(), "manifest-list": "file://" + listPath, "schema-id": 0,
				"summary": map[string]string{"operation": "append", "added-data-files": fmt.Sprint(files), "total-data-files": fmt.Sprint(files),
					"added-records": fmt.Sprint(files * 1000), "total-records": fmt.Sprint(files * 1000), "total-files-size": fmt.Sprint(total)}}},
			map[string]any{"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": snapID},
		},
	}
	if code := api(b, "POST", url+"/v1/namespaces/bench/tables/"+name, adminToken, commit, nil); code != http.StatusOK {
		b.Fatalf("commit %d files: %d", files, code)
	}
}

// longHistory registers ns.name with a metadata file of n snapshots, the
// last of them current and reading the files of a small real snapshot.
func longHistory(b *testing.B, url string, cat *rest.Catalog, name string, n int) {
	b.Helper()
	manyFiles(b, url, cat, name, 20)
	var raw struct {
		Location string          `json:"metadata-location"`
		Metadata json.RawMessage `json:"metadata"`
	}
	api(b, "GET", url+"/v1/namespaces/bench/tables/"+name, adminToken, nil, &raw)
	var md map[string]any
	must(b, json.Unmarshal(raw.Metadata, &md))
	real := md["snapshots"].([]any)[0].(map[string]any)
	start := time.Now().Add(-time.Duration(n) * time.Minute).UnixMilli()
	ops := []string{"append", "append", "overwrite", "delete", "replace"}
	var snaps, log []any
	var parent any
	var last int64
	for i := 0; i < n; i++ {
		id := int64(1_000_000_000_000 + i)
		ts := start + int64(i)*60_000
		op := ops[i%len(ops)]
		s := map[string]any{"snapshot-id": id, "sequence-number": i + 1, "timestamp-ms": ts, "manifest-list": real["manifest-list"], "schema-id": 0,
			"summary": map[string]string{"operation": op, "added-records": fmt.Sprint(100 + i%900), "deleted-records": fmt.Sprint((i % 7) * 10),
				"added-data-files": fmt.Sprint(1 + i%5), "deleted-data-files": fmt.Sprint(i % 3), "total-records": fmt.Sprint(20000),
				"total-data-files": "20"}}
		if parent != nil {
			s["parent-snapshot-id"] = parent
		}
		snaps = append(snaps, s)
		log = append(log, map[string]any{"snapshot-id": id, "timestamp-ms": ts})
		parent, last = id, id
	}
	md["snapshots"], md["snapshot-log"] = snaps, log
	md["current-snapshot-id"] = last
	md["last-sequence-number"] = n
	md["refs"] = map[string]any{"main": map[string]any{"snapshot-id": last, "type": "branch"}}
	md["last-updated-ms"] = time.Now().UnixMilli()
	out, err := json.Marshal(md)
	must(b, err)
	loc := strings.TrimPrefix(md["location"].(string), "file://")
	p := filepath.Join(loc, "metadata", "00099-"+uuid.NewString()+".metadata.json")
	must(b, os.WriteFile(p, out, 0o644))
	reg := map[string]any{"name": name, "metadata-location": "file://" + p, "overwrite": true}
	if code := api(b, "POST", url+"/v1/namespaces/bench/register", adminToken, reg, nil); code != http.StatusOK {
		b.Fatalf("register %d snapshots: %d", n, code)
	}
}

func must(b testing.TB, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkConsoleTablePage measures how long the table page takes to
// render in headless Chromium, for a table of 10,000 snapshots and one of
// 100,000 data files. ns/op is from setting the URL to the page drawn with
// every metadata section (schema, specs, refs, snapshot charts and list,
// metadata log); files-ms/op is until the sections read from the manifests
// (stats, histogram, partitions, the first page of files) are drawn too.
// The cold-* figures are the first visit, before the server has the
// snapshot's stats.
//
//	go test -run '^$' -bench BenchmarkConsoleTablePage -benchtime 5x ./console/
func BenchmarkConsoleTablePage(b *testing.B) {
	needChromium(b)
	url := startBenchCatalog(b)
	cat := testenv.Client(b, url, rest.WithOAuthToken(adminToken))
	must(b, cat.CreateNamespace(context.Background(), table.Identifier{"bench"}, nil))
	longHistory(b, url, cat, "history", 10_000)
	manyFiles(b, url, cat, "files", 100_000)
	br := newBrowser(b)
	ctx := br.ctx
	br.do(ctx, "open the console", navigate(url+"/ui/#/signin"), waitFor(`!!document.querySelector('#token')`))
	br.fill(ctx, "#token", adminToken)
	br.do(ctx, "sign in", clickOnly("#signin-token button"), waitFor(`document.getElementById('app').dataset.page === 'catalog'`))
	br.take()
	for _, tc := range []struct{ name, hash, check, want string }{
		{"snapshots=10000", "#/table/bench/t/history", "#snapshot-count", "10,000"},
		{"files=100000", "#/table/bench/t/files", "#stat-files", "100,000"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			br.t = b
			start := time.Now()
			br.visit(ctx, tc.hash)
			cold := time.Since(start)
			br.waitFiles(ctx)
			coldFiles := time.Since(start)
			if os.Getenv("ICE_CONSOLE_BENCH_TRACE") != "" {
				b.Logf("trace: %s", eval[string](br, ctx, `(async () => { const m = await import('/ui/api.js'); const r = await fetch('/v1/namespaces/bench/tables/`+strings.TrimPrefix(tc.hash, "#/table/bench/t/")+`', {headers: {Authorization: 'Bearer '+m.token()}}); const t = await r.text();
					let a = performance.now(); JSON.parse(t); const plain = performance.now() - a; a = performance.now(); m.parse(t); const exact = performance.now() - a;
					const tm = await import('/ui/table.js'); a = performance.now(); await tm.tablePage('bench', '`+strings.TrimPrefix(tc.hash, "#/table/bench/t/")+`'); const page = performance.now() - a;
					return JSON.stringify({bytes: t.length, plain, exact, page}); })()`))
			}
			if got := br.text(ctx, tc.check); got != tc.want {
				b.Fatalf("%s shows %q, want %q", tc.check, got, tc.want)
			}
			br.profileVisit(ctx, tc.hash)
			var files time.Duration
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				br.visit(ctx, tc.hash)
				b.StopTimer()
				br.waitFiles(ctx)
				files += time.Since(start)
				b.StartTimer()
			}
			b.ReportMetric(float64(cold.Milliseconds()), "cold-page-ms")
			b.ReportMetric(float64(coldFiles.Milliseconds()), "cold-files-ms")
			b.ReportMetric(float64(files.Milliseconds())/float64(b.N), "files-ms/op")
			br.expect(tc.name)
		})
	}
}
