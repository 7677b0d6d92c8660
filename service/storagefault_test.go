package service_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/iceberg-go/table"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/auth"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/rest"
	"github.com/ice-rest-catalog/ice/service"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// faultyFiles is the real warehouse behind the service's Storage seam,
// with storage faults injected where the service reaches a metadata file:
// while a fault is armed, the object a read or write is about to touch is
// made unusable on disk for the length of that one call (a directory where
// a written file would go, a symbolic link loop where a read one is), so
// the real warehouse meets a failing storage and answers as it would for
// an S3 that cannot be reached. A real S3 cannot be made to fail one call
// on demand.
type faultyFiles struct {
	*warehouse.Warehouse
	failWrites, failReads atomic.Bool
	injected              atomic.Int64
}

func (f *faultyFiles) WriteMetadata(ctx context.Context, location string, md table.Metadata, base *warehouse.Metadata) (*warehouse.Metadata, error) {
	if f.failWrites.Load() {
		p := strings.TrimPrefix(location, "file://")
		if err := os.Mkdir(p, 0o755); err != nil {
			return nil, err
		}
		defer os.Remove(p)
		f.injected.Add(1)
	}
	return f.Warehouse.WriteMetadata(ctx, location, md, base)
}

func (f *faultyFiles) ReadMetadata(ctx context.Context, location string) (*warehouse.Metadata, error) {
	defer f.breakRead(location)()
	return f.Warehouse.ReadMetadata(ctx, location)
}

func (f *faultyFiles) ReadServable(ctx context.Context, location string) (*warehouse.MetadataFile, error) {
	defer f.breakRead(location)()
	return f.Warehouse.ReadServable(ctx, location)
}

// breakRead replaces the file at location by a link to itself, when reads
// are to fail, and returns what puts it back.
func (f *faultyFiles) breakRead(location string) (restore func()) {
	if !f.failReads.Load() {
		return func() {}
	}
	p := strings.TrimPrefix(location, "file://")
	aside := p + ".aside"
	if err := os.Rename(p, aside); err != nil {
		panic(err)
	}
	if err := os.Symlink(p, p); err != nil {
		panic(err)
	}
	f.injected.Add(1)
	return func() {
		_ = os.Remove(p)
		if err := os.Rename(aside, p); err != nil {
			panic(err)
		}
	}
}

// faultyService is the fixture's table behind a new service whose storage
// is faultyFiles over a fresh warehouse (so no metadata is cached yet),
// and the REST handler in front of it.
func faultyService(t *testing.T, f *fixture) (*service.Service, *faultyFiles, *httptest.Server) {
	t.Helper()
	files := &faultyFiles{Warehouse: mustWarehouse(t, f.dir)}
	svc := service.New(service.Config{Store: f.store.Store, Warehouse: files, Log: testenv.DiscardLogger()})
	authn, err := auth.New(auth.Config{Anonymous: &auth.Principal{Name: "anonymous"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rest.New(rest.Config{Service: svc, Auth: authn, Log: testenv.DiscardLogger()}))
	t.Cleanup(srv.Close)
	return svc, files, srv
}

// state is what a failed commit must leave as it was: the table's pointer
// (read from etcd, not through the faulty storage) and its metadata files.
func (f *fixture) state(t *testing.T) (string, []string) {
	t.Helper()
	loc, err := f.svc.TableLocation(context.Background(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	files := f.metadataFiles(t)
	slices.Sort(files)
	return loc, files
}

// wantUnavailable checks a storage failure's answer: the domain kind
// EUNAVAILABLE, and on the wire 503 ServiceUnavailableException.
func wantUnavailable(t *testing.T, what string, err error, status int, body string) {
	t.Helper()
	if ice.ErrorCode(err) != ice.EUNAVAILABLE {
		t.Errorf("%s: err = %v, want kind EUNAVAILABLE", what, err)
	}
	var m struct {
		Error struct {
			Type string `json:"type"`
			Code int    `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(body), &m) != nil || status != http.StatusServiceUnavailable ||
		m.Error.Type != "ServiceUnavailableException" || m.Error.Code != 503 {
		t.Errorf("%s over HTTP: %d %s, want 503 ServiceUnavailableException", what, status, body)
	}
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

const commitBody = `{"requirements":[],"updates":[{"action":"set-properties","updates":{"a":"1"}}]}`

// TestMetadataWriteFailureChangesNothing: a commit whose new metadata file
// cannot be written answers 503 ServiceUnavailable, and leaves the
// table's pointer and metadata files as they were; once storage is back
// the same commit succeeds.
func TestMetadataWriteFailureChangesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	svc, files, srv := faultyService(t, f)
	loc, before := f.state(t)

	files.failWrites.Store(true)
	_, _, err := svc.CommitTable(ctx, setProp("a", "1"), nil)
	status, body := do(t, "POST", srv.URL+"/v1/namespaces/db/tables/t", commitBody)
	wantUnavailable(t, "commit", err, status, body)
	if files.injected.Load() < 2 {
		t.Fatalf("%d faults injected, want one a commit", files.injected.Load())
	}
	if l, after := f.state(t); l != loc || !slices.Equal(after, before) {
		t.Fatalf("a failed commit changed the table: pointer %s -> %s, files %v -> %v", loc, l, before, after)
	}

	files.failWrites.Store(false)
	tbl, _, err := svc.CommitTable(ctx, setProp("a", "1"), nil)
	if err != nil {
		t.Fatalf("commit once storage is back: %v", err)
	}
	if tbl.Metadata.Parsed.Properties()["a"] != "1" {
		t.Fatal("the commit once storage is back lost its update")
	}
}

// TestMetadataReadFailureChangesNothing: when the table's current
// metadata file cannot be read, a commit answers 503 ServiceUnavailable
// and changes nothing, and so does a loadTable.
func TestMetadataReadFailureChangesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	svc, files, srv := faultyService(t, f)
	loc, before := f.state(t)

	files.failReads.Store(true)
	_, _, err := svc.CommitTable(ctx, setProp("a", "1"), nil)
	status, body := do(t, "POST", srv.URL+"/v1/namespaces/db/tables/t", commitBody)
	wantUnavailable(t, "commit", err, status, body)
	_, err = svc.LoadTable(ctx, f.id)
	status, body = do(t, "GET", srv.URL+"/v1/namespaces/db/tables/t", "")
	wantUnavailable(t, "loadTable", err, status, body)
	if files.injected.Load() < 4 {
		t.Fatalf("%d faults injected, want one a request", files.injected.Load())
	}
	if l, after := f.state(t); l != loc || !slices.Equal(after, before) {
		t.Fatalf("a failed commit changed the table: pointer %s -> %s, files %v -> %v", loc, l, before, after)
	}

	files.failReads.Store(false)
	if _, _, err := svc.CommitTable(ctx, setProp("a", "1"), nil); err != nil {
		t.Fatalf("commit once storage is back: %v", err)
	}
}
