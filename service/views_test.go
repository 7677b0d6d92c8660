package service_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/view"
	"github.com/google/uuid"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/service"
)

// racyStore runs beforeSwap once before the next view replace reaches etcd,
// standing in for a concurrent writer that wins the race.
type racyStore struct {
	*faultyStore
	beforeSwap func()
}

func (r *racyStore) SwapView(ctx context.Context, sw ice.ViewSwap) error {
	if r.beforeSwap != nil && sw.Base.Revision != 0 {
		hook := r.beforeSwap
		r.beforeSwap = nil
		hook()
	}
	return r.faultyStore.SwapView(ctx, sw)
}

var viewSchema = iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})

func newViewVersion(t *testing.T, sql string) *view.Version {
	t.Helper()
	v, err := view.NewVersionFromSQL(1, 0, sql, table.Identifier{"db"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func viewFiles(t *testing.T, dir, name string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "db", name, "metadata", "*.metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func setViewProp(id ice.TableIdent, viewUUID uuid.UUID, k, v string) service.ViewChange {
	return service.ViewChange{ID: id,
		Requirements: view.Requirements{view.AssertViewUUID(viewUUID)},
		Updates:      view.Updates{view.NewSetPropertiesUpdate(iceberg.Properties{k: v})}}
}

// A replace that loses the race while its requirement still holds is
// retried on the winner's state: both changes survive, and the loser's
// metadata file is deleted.
func TestReplaceViewRetriesAfterConcurrentReplace(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	racy := &racyStore{faultyStore: f.store}
	svc := service.New(service.Config{Store: racy, Warehouse: mustWarehouse(t, f.dir), Log: testenv.DiscardLogger()})
	id := ice.TableIdent{Namespace: ice.Namespace{"db"}, Name: "v"}
	created, err := svc.CreateView(ctx, id.Namespace, service.CreateView{Name: "v", Schema: viewSchema, Version: newViewVersion(t, "select 1")})
	if err != nil {
		t.Fatal(err)
	}
	viewUUID := created.Metadata.Parsed.ViewUUID()
	racy.beforeSwap = func() {
		if _, err := f.svc.ReplaceView(ctx, setViewProp(id, viewUUID, "winner", "yes")); err != nil {
			t.Errorf("concurrent replace: %v", err)
		}
	}
	got, err := svc.ReplaceView(ctx, setViewProp(id, viewUUID, "loser", "retried"))
	if err != nil {
		t.Fatalf("replace: %v", err)
	}
	props := got.Metadata.Parsed.Properties()
	if props["winner"] != "yes" || props["loser"] != "retried" {
		t.Fatalf("properties after the retry = %v", props)
	}
	if files := viewFiles(t, f.dir, "v"); len(files) != 3 {
		t.Fatalf("metadata files = %v; want create, winner, retried (the lost attempt's file deleted)", files)
	}
}

// A failed assert-view-uuid is CommitFailed and writes nothing.
func TestReplaceViewStaleUUIDIsCommitFailed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	id := ice.TableIdent{Namespace: ice.Namespace{"db"}, Name: "v"}
	if _, err := f.svc.CreateView(ctx, id.Namespace, service.CreateView{Name: "v", Schema: viewSchema, Version: newViewVersion(t, "select 1")}); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.ReplaceView(ctx, setViewProp(id, uuid.New(), "k", "v"))
	if e, ok := err.(*ice.Error); !ok || e.Type != "CommitFailedException" {
		t.Fatalf("replace with a wrong view uuid: %v", err)
	}
	if files := viewFiles(t, f.dir, "v"); len(files) != 1 {
		t.Fatalf("metadata files = %v; want only the create's", files)
	}
}

// A view created over a table's name is refused, and the metadata file it
// wrote (in the table's default location) is deleted again.
func TestCreateViewOverTableDiscardsItsFile(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	before := f.metadataFiles(t)
	_, err := f.svc.CreateView(ctx, f.id.Namespace, service.CreateView{Name: f.id.Name, Schema: viewSchema, Version: newViewVersion(t, "select 1")})
	if ice.ErrorCode(err) != ice.EEXISTS {
		t.Fatalf("create a view over a table: %v", err)
	}
	if after := f.metadataFiles(t); len(after) != len(before) {
		t.Fatalf("metadata files %v, before %v", after, before)
	}
}

// lossyViewStore loses the answer of the next lose view swaps, applying
// each first when apply is set, as a timeout after etcd applied it would.
type lossyViewStore struct {
	*faultyStore
	apply bool
	lose  int
}

func (l *lossyViewStore) SwapView(ctx context.Context, sw ice.ViewSwap) error {
	if l.lose == 0 {
		return l.faultyStore.SwapView(ctx, sw)
	}
	l.lose--
	if l.apply {
		if err := l.faultyStore.SwapView(ctx, sw); err != nil {
			return err
		}
	}
	return &ice.Error{Code: ice.EUNKNOWNSTATE, Message: "injected: answer lost", Err: context.DeadlineExceeded}
}

// A view replace that etcd applied but whose answer was lost is answered as
// applied (the pointer shows its file), once: no retry writes it again.
// One that was not applied, with the pointer unmoved, stays unknown, and its
// file stays (the transaction may yet apply). Tables and views share this
// path (retryCommit, resolveUnknown).
func TestReplaceViewLostAnswer(t *testing.T) {
	for _, c := range []struct {
		name    string
		apply   bool
		code    ice.Code
		files   int
		applied bool
	}{
		{"applied", true, "", 2, true},
		{"not applied", false, ice.EUNKNOWNSTATE, 2, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			lossy := &lossyViewStore{faultyStore: f.store}
			svc := service.New(service.Config{Store: lossy, Warehouse: mustWarehouse(t, f.dir), Log: testenv.DiscardLogger()})
			id := ice.TableIdent{Namespace: ice.Namespace{"db"}, Name: "v"}
			created, err := svc.CreateView(ctx, id.Namespace, service.CreateView{Name: "v", Schema: viewSchema, Version: newViewVersion(t, "select 1")})
			if err != nil {
				t.Fatal(err)
			}
			lossy.apply, lossy.lose = c.apply, 1
			_, err = svc.ReplaceView(ctx, setViewProp(id, created.Metadata.Parsed.ViewUUID(), "k", "v"))
			if c.code == "" && err != nil || c.code != "" && ice.ErrorCode(err) != c.code {
				t.Fatalf("replace answered %v (code %s), want code %q", err, ice.ErrorCode(err), c.code)
			}
			cur, err := svc.LoadView(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got := cur.Metadata.Parsed.Properties()["k"] == "v"; got != c.applied {
				t.Fatalf("property set = %v, want %v", got, c.applied)
			}
			if files := viewFiles(t, f.dir, "v"); len(files) != c.files {
				t.Fatalf("metadata files = %v, want %d", files, c.files)
			}
		})
	}
}
