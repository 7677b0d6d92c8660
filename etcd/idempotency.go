package etcd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	ice "github.com/ice-rest-catalog/ice"
)

// An Idempotency-Key's record lives at <prefix>idempotency/<key>. While its
// request runs, the record is "pending" and attached to this replica's
// session lease: if the replica dies, the claim lapses within claimTTL and a
// retry runs the request again. The final record ("response" or
// "committed") is attached to a lease of its own, as long as the advertised
// lifetime, so etcd deletes it when the lifetime is over.

// claimTTL is the session lease's TTL in seconds: how long a dead
// replica's claims block retries of their keys.
const claimTTL = 10

const (
	statePending   = "pending"
	stateResponse  = "response"
	stateCommitted = "committed"
)

// idemValue is the JSON value of an idempotency key.
type idemValue struct {
	State       string              `json:"state"`
	Fingerprint string              `json:"fingerprint"`
	Claim       string              `json:"claim,omitempty"` // a nonce naming a pending claim
	Status      int                 `json:"status,omitempty"`
	Header      map[string][]string `json:"header,omitempty"`
	Body        json.RawMessage     `json:"body,omitempty"`
	Tables      []committedTable    `json:"tables,omitempty"`
}

type committedTable struct {
	Namespace        []string `json:"namespace"`
	Name             string   `json:"name"`
	MetadataLocation string   `json:"metadata-location"`
}

// claimSession holds the session lease shared by this replica's pending
// claims; it is replaced once it expires.
type claimSession struct {
	mu      sync.Mutex
	session *concurrency.Session
}

func (s *Store) sessionLease(ctx context.Context) (clientv3.LeaseID, error) {
	s.claims.mu.Lock()
	defer s.claims.mu.Unlock()
	if sess := s.claims.session; sess != nil {
		select {
		case <-sess.Done():
		default:
			return sess.Lease(), nil
		}
	}
	// Granted with the request's context so that an unreachable etcd fails
	// the request; the keepalive then runs on the client's own context.
	g, err := s.cli.Grant(ctx, claimTTL)
	if err != nil {
		return 0, readError("grant idempotency claim lease", err)
	}
	sess, err := concurrency.NewSession(s.cli, concurrency.WithLease(g.ID), concurrency.WithTTL(claimTTL))
	if err != nil {
		return 0, readError("keep idempotency claim lease alive", err)
	}
	s.claims.session = sess
	return g.ID, nil
}

func (s *Store) ClaimIdempotencyKey(ctx context.Context, key, fp string, lifetime time.Duration, quota ice.IdempotencyQuota) (*ice.IdempotencyClaim, *ice.IdempotencyRecord, error) {
	lease, err := s.sessionLease(ctx)
	if err != nil {
		return nil, nil, err
	}
	k := s.keys.idempotency(key)
	val, err := json.Marshal(idemValue{State: statePending, Fingerprint: fp, Claim: nonce()})
	if err != nil {
		return nil, nil, fmt.Errorf("encode idempotency claim: %w", err)
	}
	then := []clientv3.Op{clientv3.OpPut(k, string(val), clientv3.WithLease(lease))}
	var marker string
	if quota.Max > 0 {
		// The marker lives as long as a final record would, and the
		// count, taken after it is put, includes it: one round trip.
		owned := s.keys.idempotencyOwned(quota.Owner)
		marker = owned + key
		ml, err := s.lifetimeLease(ctx, lifetime)
		if err != nil {
			return nil, nil, err
		}
		then = append(then, clientv3.OpPut(marker, "", clientv3.WithLease(ml)),
			clientv3.OpGet(owned, clientv3.WithPrefix(), clientv3.WithCountOnly()))
	}
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(then...).
		Else(clientv3.OpGet(k)).Commit()
	if err != nil {
		// The claim may have been written; nobody would finish it, and it
		// would block the key while this replica lives. The nonce makes
		// the value ours alone, so deleting by value is safe.
		s.dropIfValue(ctx, k, string(val))
		return nil, nil, writeError("claim idempotency key", err)
	}
	if resp.Succeeded {
		claim := &ice.IdempotencyClaim{Key: key, Marker: marker, Fingerprint: fp, Revision: resp.Header.Revision, Lifetime: lifetime}
		if marker != "" {
			if n := resp.Responses[2].GetResponseRange().Count; n > int64(quota.Max) {
				if err := s.ReleaseIdempotencyKey(ctx, claim); err != nil {
					return nil, nil, err
				}
				return nil, nil, ice.TooManyRequests("%s holds %d Idempotency-Keys, the most one principal may hold at a time (limits.idempotencyKeysPerPrincipal); retry later, when older keys have expired", quota.Owner, quota.Max)
			}
		}
		return claim, nil, nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 { // cannot happen: the comparison and the read see one revision
		return nil, nil, ice.Errorf(ice.EINTERNAL, "idempotency key %s vanished while being claimed", key)
	}
	rec, err := decodeIdempotency(kvs[0].Value, kvs[0].ModRevision)
	if err != nil {
		return nil, nil, err
	}
	return nil, rec, nil
}

func (s *Store) FinishIdempotencyKey(ctx context.Context, claim *ice.IdempotencyClaim, r ice.StoredResponse) (bool, error) {
	val, err := json.Marshal(idemValue{State: stateResponse, Fingerprint: claim.Fingerprint,
		Status: r.Status, Header: r.Header, Body: r.Body})
	if err != nil {
		return false, fmt.Errorf("encode idempotency record: %w", err)
	}
	lease, err := s.lifetimeLease(ctx, claim.Lifetime)
	if err != nil {
		return false, err
	}
	k := s.keys.idempotency(claim.Key)
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(k), "=", claim.Revision)).
		Then(clientv3.OpPut(k, string(val), clientv3.WithLease(lease))).Commit()
	if err != nil {
		if errors.Is(err, rpctypes.ErrLeaseNotFound) {
			s.forgetLease(lease)
		}
		return false, writeError("record idempotency key", err)
	}
	return resp.Succeeded, nil
}

func (s *Store) ReleaseIdempotencyKey(ctx context.Context, claim *ice.IdempotencyClaim) error {
	k := s.keys.idempotency(claim.Key)
	ops := []clientv3.Op{clientv3.OpDelete(k)}
	if claim.Marker != "" {
		ops = append(ops, clientv3.OpDelete(claim.Marker)) // the key no longer counts against the quota
	}
	_, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(k), "=", claim.Revision)).
		Then(ops...).Commit()
	if err != nil {
		return writeError("release idempotency key", err)
	}
	return nil
}

func (s *Store) AwaitIdempotencyKey(ctx context.Context, key string, revision int64) error {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for wr := range s.cli.Watch(ctx, s.keys.idempotency(key), clientv3.WithRev(revision+1)) {
		// A watch error (a compaction, say) also ends the wait: the caller
		// reads the key again either way.
		if wr.Err() != nil || len(wr.Events) > 0 {
			return nil
		}
	}
	return ctx.Err()
}

// settle returns the comparison and the put that make a commit record its
// outcome: the claim must still be current, and the record names every
// swapped table's new location. It grants the record's lease.
func (s *Store) settle(ctx context.Context, claim *ice.IdempotencyClaim, swaps []ice.TableSwap) (clientv3.Cmp, clientv3.Op, clientv3.LeaseID, error) {
	v := idemValue{State: stateCommitted, Fingerprint: claim.Fingerprint}
	for _, sw := range swaps {
		v.Tables = append(v.Tables, committedTable{Namespace: sw.ID.Namespace, Name: sw.ID.Name, MetadataLocation: sw.NewLocation})
	}
	val, err := json.Marshal(v)
	if err != nil {
		return clientv3.Cmp{}, clientv3.Op{}, 0, fmt.Errorf("encode idempotency record: %w", err)
	}
	lease, err := s.lifetimeLease(ctx, claim.Lifetime)
	if err != nil {
		return clientv3.Cmp{}, clientv3.Op{}, 0, err
	}
	k := s.keys.idempotency(claim.Key)
	return clientv3.Compare(clientv3.ModRevision(k), "=", claim.Revision),
		clientv3.OpPut(k, string(val), clientv3.WithLease(lease)), lease, nil
}

// claimLost tells, after a failed swap, whether the claim's comparison was
// the one that failed; the Else branch read the key.
func claimLost(resp *clientv3.TxnResponse, claim *ice.IdempotencyClaim) error {
	for _, r := range resp.Responses {
		rr := r.GetResponseRange()
		if rr == nil {
			continue
		}
		if len(rr.Kvs) == 0 || rr.Kvs[0].ModRevision != claim.Revision {
			return ice.Unavailable("this Idempotency-Key's record changed while the commit ran (the claim lapsed, or an earlier attempt of this commit applied); this attempt committed nothing; retry with the same key for the outcome", nil)
		}
	}
	return nil
}

// recordLeases shares one lease among the final records written in the
// same stretch of time (a "bucket"), instead of one lease per record: with
// a 30-minute lifetime and a thousand keyed writes a second, that is 31
// live leases rather than 1.8 million, and no lease grant per request.
type recordLeases struct {
	mu       sync.Mutex
	id       clientv3.LeaseID
	lifetime time.Duration
	until    time.Time // the lease takes records written before this
}

// leaseBucket is how long one shared lease takes new records: a minute,
// or a thirtieth of a short lifetime, and at least a second.
func leaseBucket(lifetime time.Duration) time.Duration {
	return max(min(time.Minute, lifetime/30), time.Second)
}

// lifetimeLease returns a lease under which a record written now lives at
// least lifetime: its TTL is the lifetime plus the bucket, and it is only
// handed out during the bucket that starts before its grant.
func (s *Store) lifetimeLease(ctx context.Context, lifetime time.Duration) (clientv3.LeaseID, error) {
	l := &s.recordLeases
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.id != 0 && l.lifetime == lifetime && now.Before(l.until) {
		return l.id, nil
	}
	bucket := leaseBucket(lifetime)
	ttl := int64((lifetime + bucket + time.Second - 1) / time.Second) // etcd counts whole seconds
	g, err := s.cli.Grant(ctx, ttl)
	if err != nil {
		return 0, readError("grant idempotency record lease", err)
	}
	// Measured from before the grant, so the lease's own clock, which
	// starts later, can only end later.
	l.id, l.lifetime, l.until = g.ID, lifetime, now.Add(bucket)
	return g.ID, nil
}

// forgetLease drops a shared lease that etcd no longer knows (revoked by
// hand, say), so the next record gets a fresh one.
func (s *Store) forgetLease(lease clientv3.LeaseID) {
	s.recordLeases.mu.Lock()
	defer s.recordLeases.mu.Unlock()
	if s.recordLeases.id == lease {
		s.recordLeases.id = 0
	}
}

func (s *Store) dropIfValue(ctx context.Context, key, val string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = s.cli.Txn(ctx).If(clientv3.Compare(clientv3.Value(key), "=", val)).Then(clientv3.OpDelete(key)).Commit()
}

func decodeIdempotency(b []byte, revision int64) (*ice.IdempotencyRecord, error) {
	var v idemValue
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("decode idempotency record %q: %w", truncate(b), err)
	}
	rec := &ice.IdempotencyRecord{Fingerprint: v.Fingerprint, Revision: revision}
	switch v.State {
	case statePending:
		rec.Pending = true
	case stateResponse:
		rec.Response = &ice.StoredResponse{Status: v.Status, Header: v.Header, Body: v.Body}
	case stateCommitted:
		for _, t := range v.Tables {
			rec.Committed = append(rec.Committed, ice.CommittedTable{
				ID: ice.TableIdent{Namespace: t.Namespace, Name: t.Name}, MetadataLocation: t.MetadataLocation})
		}
	default:
		return nil, fmt.Errorf("idempotency record has unknown state %q", v.State)
	}
	return rec, nil
}

func nonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
