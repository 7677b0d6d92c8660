package etcd_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/etcd"
)

// TestPlanRecordLifecycle follows an asynchronous plan through the store:
// created on a lease under p/<plan-id>, cancelled by "another replica",
// which the planning replica sees, and whose late outcome is then refused.
func TestPlanRecordLifecycle(t *testing.T) {
	ctx := context.Background()
	cli := newClient(t)
	s := etcd.NewStore(cli, "analytics")
	id := "0b7cb9c2-1a39-4f0b-9d0e-2a8f3a1d5e11"
	rec := ice.PlanRecord{ID: id, Table: ice.TableIdent{Namespace: ice.Namespace{"a", "b"}, Name: "t"},
		Status: ice.PlanSubmitted, Deadline: time.Now().Add(time.Minute)}
	rev, err := s.CreatePlan(ctx, rec, time.Hour)
	must(t, err)

	resp, err := cli.Get(ctx, "analytics/p/"+id)
	must(t, err)
	if len(resp.Kvs) != 1 || resp.Kvs[0].Lease == 0 {
		t.Fatalf("plan record at analytics/p/%s: %v; want one key on a lease", id, resp.Kvs)
	}
	got, err := s.LoadPlan(ctx, id)
	must(t, err)
	if got.Status != ice.PlanSubmitted || got.Table.String() != "a.b.t" || got.Revision != rev {
		t.Errorf("loaded %+v, want the submitted plan at revision %d", got, rev)
	}

	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	changed := s.PlanChanged(wctx, id, rev)
	must(t, s.CancelPlan(ctx, id))
	select {
	case <-changed:
	case <-wctx.Done():
		t.Fatal("the planning replica did not see the cancel")
	}
	if wctx.Err() != nil {
		t.Fatal("PlanChanged closed only because its context ended")
	}

	rec.Revision, rec.Status, rec.PlanTasks = rev, ice.PlanCompleted, []string{"pt1.x.y"}
	if err := s.FinishPlan(ctx, rec); ice.ErrorCode(err) != ice.ECONFLICT {
		t.Errorf("finish after cancel: %v; want a conflict", err)
	}
	got, err = s.LoadPlan(ctx, id)
	must(t, err)
	if got.Status != ice.PlanCancelled {
		t.Errorf("status after a late finish = %s, want cancelled", got.Status)
	}
	resp, err = cli.Get(ctx, "analytics/p/"+id)
	must(t, err)
	if resp.Kvs[0].Lease == 0 {
		t.Error("cancel took the record off its lease")
	}
	if _, err := s.LoadPlan(ctx, "d0c5bd4e-4a43-4a84-8a43-2f4a3c0e2a55"); ice.ErrorCode(err) != ice.ENOTFOUND {
		t.Errorf("unknown plan: %v; want not found", err)
	}
}

// TestPlanFinishKeepsOutcome checks the success path: the outcome replaces
// the record, on the same lease.
func TestPlanFinishKeepsOutcome(t *testing.T) {
	ctx := context.Background()
	cli := newClient(t)
	s := etcd.NewStore(cli, "default")
	id := "5f1e8a55-2f7d-4d8e-b4f5-8f0a4f7b2c33"
	rec := ice.PlanRecord{ID: id, Table: ice.TableIdent{Namespace: ice.Namespace{"a"}, Name: "t"}, Status: ice.PlanSubmitted}
	rev, err := s.CreatePlan(ctx, rec, time.Hour)
	must(t, err)
	before, err := cli.Get(ctx, "p/"+id)
	must(t, err)
	rec.Revision, rec.Status, rec.Error = rev, ice.PlanFailed, ice.Errorf(ice.EINVALID, "bad scan")
	must(t, s.FinishPlan(ctx, rec))
	got, err := s.LoadPlan(ctx, id)
	must(t, err)
	if got.Status != ice.PlanFailed || got.Error == nil || got.Error.Code != ice.EINVALID || got.Error.Message != "bad scan" {
		t.Errorf("finished plan = %+v, want failed with its error", got)
	}
	after, err := cli.Get(ctx, "p/"+id)
	must(t, err)
	if after.Kvs[0].Lease != before.Kvs[0].Lease {
		t.Error("finish moved the record to another lease")
	}
}

// TestPlanSigningKeyIsShared checks that replicas racing to create the key
// all end with the same one, kept at p/.signing-key.
func TestPlanSigningKeyIsShared(t *testing.T) {
	ctx := context.Background()
	cli := newClient(t)
	keys := make([][]byte, 6)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := etcd.NewStore(cli, "default").PlanSigningKey(ctx)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if len(k) != 32 || !bytes.Equal(k, keys[0]) {
			t.Fatalf("replicas got different signing keys: %x", keys)
		}
	}
	resp, err := cli.Get(ctx, "p/.signing-key", clientv3.WithCountOnly())
	must(t, err)
	if resp.Count != 1 {
		t.Error("no signing key at p/.signing-key")
	}
}
