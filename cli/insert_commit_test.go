package cli_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// TestInsertCommitRetries makes an insert's commit conflict for sure: the
// CLI reaches versitygw through a proxy that, on the first read of the
// insert's input (after the insert loaded the table), lets another insert
// commit to the same table. With --commit-retries 0 the insert gives up and
// commits nothing; by default it commits again on the new state.
func TestInsertCommitRetries(t *testing.T) {
	e := startS3Catalog(t)
	dir := t.TempDir()
	e.ok(t, "insert", "-p", "db.t", writeParquet(t, dir, "seed.parquet", rows(0, 1, day1, "eu")))
	e.put(t, "input", "racing.parquet", parquetBytes(t, rows(100, 5, day1, "eu")))

	target, _ := url.Parse(e.S3.Endpoint)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	armed, other := false, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fire := armed && r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/input/racing.parquet")
		if fire {
			armed = false
			other++
		}
		n := other
		mu.Unlock()
		if fire {
			// Another writer commits first, straight to versitygw.
			p := writeParquet(t, t.TempDir(), "other.parquet", rows(int64(1000*n), 1, day1, "eu"))
			if r := runIce(t, nil, "-c", e.Config, "insert", "db.t", p); r.Code != 0 {
				t.Errorf("the racing insert: %s", r.Stderr)
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	viaProxy := &iceEnv{URL: e.URL, S3: e.S3, Config: writeConfig(t, "uri: "+e.URL+"\ns3:\n  endpoint: "+srv.URL+
		"\n  pathStyleAccess: true\n  accessKeyID: "+e.S3.AccessKey+"\n  secretAccessKey: "+e.S3.SecretKey+"\n  region: "+e.S3.Region+"\n")}

	arm := func() { mu.Lock(); armed = true; mu.Unlock() }
	arm()
	msg := viaProxy.fails(t, "insert", "db.t", "--commit-retries", "0", "s3://input/racing.parquet")
	if !strings.Contains(msg, "still conflicting after 1 attempt(s)") || !strings.Contains(msg, "nothing was committed") {
		t.Fatalf("--commit-retries 0: %s", msg)
	}
	if ids := e.scanIDs(t, "db.t"); !slices.Equal(ids, []int64{0, 1000}) {
		t.Fatalf("rows after the refused insert: %v", ids)
	}
	arm()
	viaProxy.ok(t, "insert", "db.t", "s3://input/racing.parquet")
	if ids := e.scanIDs(t, "db.t"); !slices.Equal(ids, []int64{0, 100, 101, 102, 103, 104, 1000, 2000}) {
		t.Fatalf("rows after the retried insert: %v", ids)
	}
	if r := e.ice(t, "insert", "db.t", "--commit-retries", "-1", "x.parquet"); r.Code != 2 {
		t.Fatalf("--commit-retries -1: exit %d", r.Code)
	}
}

// TestInsertCompression: --compression re-encodes a copy with the codec
// asked for (as-source: the input's); without it the bytes are copied.
func TestInsertCompression(t *testing.T) {
	e := startFileCatalog(t)
	dir := t.TempDir()
	in := writeParquet(t, dir, "in.parquet", rows(0, 50, day1, "eu")) // arrow-go's default: uncompressed
	codecOf := func(path string) compress.Compression {
		t.Helper()
		f, err := file.OpenParquetFile(strings.TrimPrefix(path, "file://"), false)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cc, err := f.MetaData().RowGroup(0).ColumnChunk(0)
		if err != nil {
			t.Fatal(err)
		}
		return cc.Compression()
	}
	e.ok(t, "insert", "-p", "db.gz", in, "--compression", "gzip")
	e.ok(t, "insert", "-p", "db.src", in, "--compression", "as-source")
	e.ok(t, "insert", "-p", "db.plain", in)
	for table, want := range map[string]compress.Compression{"db.gz": compress.Codecs.Gzip, "db.src": codecOf(in), "db.plain": codecOf(in)} {
		files := e.files(t, table)
		if len(files) != 1 {
			t.Fatalf("%s: files %+v", table, files)
		}
		if got := codecOf(files[0].Path); got != want {
			t.Fatalf("%s: codec %s, want %s", table, got, want)
		}
		if ids := e.scanIDs(t, table); !slices.Equal(ids, seq(0, 50)) {
			t.Fatalf("%s: rows %v", table, ids)
		}
	}
	if codecOf(in) == compress.Codecs.Gzip {
		t.Fatal("the input is gzip already: the test proves nothing")
	}
	if r := e.ice(t, "insert", "db.gz", in, "--compression", "rar"); r.Code != 2 {
		t.Fatalf("--compression rar: exit %d", r.Code)
	}
}
