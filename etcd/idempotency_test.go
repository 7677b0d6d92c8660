package etcd_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/etcd"
)

// leaseTTL returns the TTL granted to the lease of key.
func leaseTTL(t *testing.T, cli *clientv3.Client, key string) int64 {
	t.Helper()
	resp, err := cli.Get(context.Background(), key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get %s: %v (%d keys)", key, err, len(resp.Kvs))
	}
	if resp.Kvs[0].Lease == 0 {
		t.Fatalf("%s has no lease: it would never expire", key)
	}
	ttl, err := cli.TimeToLive(context.Background(), clientv3.LeaseID(resp.Kvs[0].Lease))
	if err != nil {
		t.Fatal(err)
	}
	return ttl.GrantedTTL
}

// TestIdempotencyRecords walks a key through claim, finish and replay, in a
// catalog with a name, so under its key prefix; each record carries the
// lease that makes etcd delete it: the replica's session lease while
// pending, the lifetime once final.
func TestIdempotencyRecords(t *testing.T) {
	ctx := context.Background()
	cli := newClient(t)
	s := etcd.NewStore(cli, "prod")
	const key, fp, lifetime = "0190b1a2-0000-7000-8000-000000000001", "fp-1", 90 * time.Minute

	claim, rec, err := s.ClaimIdempotencyKey(ctx, key, fp, lifetime, ice.IdempotencyQuota{})
	if err != nil || claim == nil || rec != nil {
		t.Fatalf("first claim: %v %v %v", claim, rec, err)
	}
	if ttl := leaseTTL(t, cli, "prod/idempotency/"+key); ttl != 10 {
		t.Errorf("pending claim's lease TTL %ds, want the 10s session lease", ttl)
	}
	if _, rec, _ := s.ClaimIdempotencyKey(ctx, key, fp, lifetime, ice.IdempotencyQuota{}); rec == nil || !rec.Pending || rec.Fingerprint != fp {
		t.Fatalf("second claim while pending: %+v", rec)
	}

	answer := ice.StoredResponse{Status: 200, Header: map[string][]string{"Etag": {`"x"`}}, Body: []byte(`{"a":1}`)}
	if ok, err := s.FinishIdempotencyKey(ctx, claim, answer); err != nil || !ok {
		t.Fatalf("finish: %v %v", ok, err)
	}
	// The lifetime plus the one-minute bucket during which the lease is
	// shared: every record lives at least the lifetime.
	if ttl := leaseTTL(t, cli, "prod/idempotency/"+key); ttl != 90*60+60 {
		t.Errorf("record's lease TTL %ds, want %ds", ttl, 90*60+60)
	}
	if ok, _ := s.FinishIdempotencyKey(ctx, claim, answer); ok {
		t.Error("a claim finished twice")
	}
	_, rec, err = s.ClaimIdempotencyKey(ctx, key, "other", lifetime, ice.IdempotencyQuota{})
	if err != nil || rec == nil || rec.Response == nil || rec.Fingerprint != fp ||
		string(rec.Response.Body) != `{"a":1}` || rec.Response.Header["Etag"][0] != `"x"` {
		t.Fatalf("claim of a finished key: %+v %v", rec, err)
	}

	// A released claim leaves nothing: the next request runs afresh.
	const key2 = "0190b1a2-0000-7000-8000-000000000002"
	claim2, _, err := s.ClaimIdempotencyKey(ctx, key2, fp, lifetime, ice.IdempotencyQuota{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseIdempotencyKey(ctx, claim2); err != nil {
		t.Fatal(err)
	}
	again, _, err := s.ClaimIdempotencyKey(ctx, key2, fp, lifetime, ice.IdempotencyQuota{})
	if err != nil || again == nil {
		t.Fatalf("claim after release: %v %v", again, err)
	}
	// Records finished one after the other share a lease.
	if ok, err := s.FinishIdempotencyKey(ctx, again, answer); err != nil || !ok {
		t.Fatalf("finish: %v %v", ok, err)
	}
	r1, _ := cli.Get(ctx, "prod/idempotency/"+key)
	r2, _ := cli.Get(ctx, "prod/idempotency/"+key2)
	if r1.Kvs[0].Lease != r2.Kvs[0].Lease {
		t.Errorf("two records finished back to back have leases %x and %x, want one shared lease", r1.Kvs[0].Lease, r2.Kvs[0].Lease)
	}
}

// TestSwapRecordsTheCommit checks that a keyed swap writes the commit's
// outcome in its own Txn, and that a swap whose claim is no longer current
// applies nothing.
func TestSwapRecordsTheCommit(t *testing.T) {
	ctx := context.Background()
	cli := newClient(t)
	s := etcd.NewStore(cli, "default")
	must(t, s.CreateNamespace(ctx, ice.Namespace{"db"}, nil))
	id := ice.TableIdent{Namespace: ice.Namespace{"db"}, Name: "t"}
	must(t, s.SwapTables(ctx, []ice.TableSwap{{ID: id, NewLocation: "file:///w/0.metadata.json"}}, nil))
	base, err := s.LoadTable(ctx, id)
	must(t, err)

	const key = "0190b1a2-0000-7000-8000-000000000003"
	claim, _, err := s.ClaimIdempotencyKey(ctx, key, "fp", 30*time.Minute, ice.IdempotencyQuota{})
	must(t, err)
	// A nil error with a claim means the outcome is stored with the swap.
	must(t, s.SwapTables(ctx, []ice.TableSwap{{ID: id, Base: base, NewLocation: "file:///w/1.metadata.json"}}, claim))
	resp, err := cli.Get(ctx, "idempotency/"+key)
	must(t, err)
	var v map[string]any
	must(t, json.Unmarshal(resp.Kvs[0].Value, &v))
	if v["state"] != "committed" || v["fingerprint"] != "fp" {
		t.Errorf("record after the swap: %s", resp.Kvs[0].Value)
	}
	tbl, err := s.LoadTable(ctx, id)
	must(t, err)
	if resp.Kvs[0].ModRevision != tbl.Revision {
		t.Errorf("record written at revision %d, pointer at %d: not one Txn", resp.Kvs[0].ModRevision, tbl.Revision)
	}
	if ttl := leaseTTL(t, cli, "idempotency/"+key); ttl != 1800+60 {
		t.Errorf("committed record's lease TTL %ds, want 1860s (30 min and the 1-min bucket)", ttl)
	}
	_, rec, err := s.ClaimIdempotencyKey(ctx, key, "fp", 30*time.Minute, ice.IdempotencyQuota{})
	if err != nil || rec == nil || len(rec.Committed) != 1 || rec.Committed[0].MetadataLocation != "file:///w/1.metadata.json" {
		t.Fatalf("committed record: %+v %v", rec, err)
	}

	// The claim moved on (here: it was settled): the same claim cannot
	// commit again, whatever the table's state.
	err = s.SwapTables(ctx, []ice.TableSwap{{ID: id, Base: tbl, NewLocation: "file:///w/2.metadata.json"}}, claim)
	if ice.ErrorCode(err) != ice.EUNAVAILABLE {
		t.Fatalf("swap with a stale claim: %v, want unavailable", err)
	}
	if now, _ := s.LoadTable(ctx, id); now.MetadataLocation != "file:///w/1.metadata.json" {
		t.Errorf("a swap with a stale claim moved the table to %s", now.MetadataLocation)
	}
}
