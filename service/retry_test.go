package service_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	clientv3 "go.etcd.io/etcd/client/v3"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/service"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// racingStore lets another real commit land just before each of our swaps,
// so every swap loses a real compare-and-swap race in etcd.
type racingStore struct {
	*etcd.Store
	other  *service.Service
	racing bool
	swaps  int
}

func (r *racingStore) SwapTables(ctx context.Context, swaps []ice.TableSwap, claim *ice.IdempotencyClaim) error {
	if !r.racing {
		return r.Store.SwapTables(ctx, swaps, claim)
	}
	r.swaps++
	if _, _, err := r.other.CommitTable(ctx, setProp("other", time.Now().String()), nil); err != nil {
		return err
	}
	return r.Store.SwapTables(ctx, swaps, claim)
}

func newRacing(t *testing.T, retry service.RetryPolicy, locker service.CommitLocker) (*service.Service, *racingStore) {
	t.Helper()
	ctx := context.Background()
	cli := testenv.EtcdClient(t)
	wh, err := warehouse.Open(ctx, warehouse.Config{Location: "file://" + t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	store := etcd.NewStore(cli, "default")
	rs := &racingStore{Store: store, other: service.New(service.Config{Store: store, Warehouse: wh, Log: testenv.DiscardLogger()})}
	svc := service.New(service.Config{Store: rs, Warehouse: wh, Log: testenv.DiscardLogger(), Retry: retry, Locker: locker})
	if err := svc.CreateNamespace(ctx, ice.Namespace{"db"}, nil); err != nil {
		t.Fatal(err)
	}
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})
	for _, name := range []string{"t", "a", "z"} {
		if _, err := svc.CreateTable(ctx, ice.Namespace{"db"}, service.CreateTable{Name: name, Schema: sc}); err != nil {
			t.Fatal(err)
		}
	}
	rs.racing = true
	return svc, rs
}

// TestCommitRetryNumRetries: a commit that keeps losing its swap is tried
// 1+numRetries times (commitRetry.numRetries), then fails with
// CommitFailedException; the concurrent commits are all kept.
func TestCommitRetryNumRetries(t *testing.T) {
	for _, n := range []int{1, 3} {
		svc, rs := newRacing(t, service.RetryPolicy{NumRetries: n, MinWait: time.Millisecond, MaxWait: 2 * time.Millisecond}, nil)
		_, _, err := svc.CommitTable(context.Background(), setProp("mine", "1"), nil)
		var e *ice.Error
		if !errors.As(err, &e) || e.Type != "CommitFailedException" {
			t.Fatalf("numRetries %d: err = %v, want CommitFailedException", n, err)
		}
		if rs.swaps != n+1 {
			t.Errorf("numRetries %d: %d swaps, want %d", n, rs.swaps, n+1)
		}
	}
}

// TestCommitRetryTotalTimeout: once totalTimeoutMs has passed, no retry
// starts, whatever numRetries allows.
func TestCommitRetryTotalTimeout(t *testing.T) {
	svc, rs := newRacing(t, service.RetryPolicy{NumRetries: 100, MinWait: time.Millisecond, TotalTimeout: time.Nanosecond}, nil)
	if _, _, err := svc.CommitTable(context.Background(), setProp("mine", "1"), nil); ice.ErrorCode(err) != ice.ECONFLICT {
		t.Fatalf("err = %v, want a conflict", err)
	}
	if rs.swaps != 1 {
		t.Errorf("%d swaps, want 1: the total timeout had passed after the first", rs.swaps)
	}
}

// recordingLocker is the real etcd commit lock, recording the order in
// which each commit asks for its tables.
type recordingLocker struct {
	etcd.CommitLocks
	asked [][]string
}

func (r *recordingLocker) Lock(ctx context.Context, ids []ice.TableIdent) (func(), error) {
	var names []string
	for _, id := range ids {
		names = append(names, id.String())
	}
	r.asked = append(r.asked, names)
	return r.CommitLocks.Lock(ctx, ids)
}

// TestCommitTakesLocksSorted: a multi-table commit takes its tables' locks
// in sorted order (as Java ice does, so two transactions never deadlock),
// holds them across its retries, and releases them: a later commit gets
// them again at once.
func TestCommitTakesLocksSorted(t *testing.T) {
	lk := &recordingLocker{CommitLocks: etcd.CommitLocks{Client: testenv.EtcdClient(t), Catalog: "default", LeaseTTL: 10 * time.Second, AcquireTimeout: 10 * time.Second}}
	svc, _ := newRacing(t, service.RetryPolicy{NumRetries: 1, MinWait: time.Millisecond}, lk)
	ch := func(name string) service.TableChange {
		return service.TableChange{ID: ice.TableIdent{Namespace: ice.Namespace{"db"}, Name: name},
			Updates: table.Updates{table.NewSetPropertiesUpdate(iceberg.Properties{"k": "v"})}}
	}
	// The racing store commits to db.t before each swap, so db.t fails;
	// what matters here is the lock order and release.
	_, _ = svc.CommitTransaction(context.Background(), []service.TableChange{ch("z"), ch("t"), ch("a")}, nil)
	_, _ = svc.CommitTransaction(context.Background(), []service.TableChange{ch("a"), ch("z")}, nil)
	want := [][]string{{"db.a", "db.t", "db.z"}, {"db.a", "db.z"}}
	if !slices.EqualFunc(lk.asked, want, slices.Equal) {
		t.Fatalf("locks asked %v, want %v", lk.asked, want)
	}
	resp, err := lk.Client.Get(context.Background(), "locks/v1/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 0 {
		t.Fatalf("%d lock keys left after the commits", resp.Count)
	}
}
