package etcd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	ice "github.com/ice-rest-catalog/ice"
)

// Asynchronous scan plans live under p/<plan-id>, each on its own lease so
// that etcd forgets them by itself; the key that signs plan tasks lives at
// p/.signing-key (a plan-id is a UUID, so the names cannot meet).

var _ ice.PlanStore = (*Store)(nil)

func (k keys) plan(id string) string { return k.prefix + "p/" + id }

func (k keys) planSigningKey() string { return k.prefix + "p/.signing-key" }

// planValue is a plan record as stored.
type planValue struct {
	Namespace []string   `json:"namespace"`
	Table     string     `json:"table"`
	Status    string     `json:"status"`
	Deadline  time.Time  `json:"deadline,omitzero"`
	PlanTasks []string   `json:"plan-tasks,omitempty"`
	Error     *planError `json:"error,omitempty"`
}

type planError struct {
	Code    ice.Code `json:"code"`
	Type    string   `json:"type,omitempty"`
	Message string   `json:"message"`
}

func encodePlan(rec ice.PlanRecord) (string, error) {
	v := planValue{Namespace: rec.Table.Namespace, Table: rec.Table.Name, Status: rec.Status,
		Deadline: rec.Deadline.UTC(), PlanTasks: rec.PlanTasks}
	if rec.Error != nil {
		v.Error = &planError{Code: rec.Error.Code, Type: rec.Error.Type, Message: rec.Error.Message}
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func decodePlan(id string, b []byte, revision int64) (ice.PlanRecord, error) {
	var v planValue
	if err := json.Unmarshal(b, &v); err != nil {
		return ice.PlanRecord{}, fmt.Errorf("decode plan %s %q: %w", id, truncate(b), err)
	}
	rec := ice.PlanRecord{ID: id, Table: ice.TableIdent{Namespace: v.Namespace, Name: v.Table}, Status: v.Status,
		Deadline: v.Deadline, PlanTasks: v.PlanTasks, Revision: revision}
	if v.Error != nil {
		rec.Error = &ice.Error{Code: v.Error.Code, Type: v.Error.Type, Message: v.Error.Message}
	}
	return rec, nil
}

func (s *Store) CreatePlan(ctx context.Context, rec ice.PlanRecord, ttl time.Duration) (int64, error) {
	val, err := encodePlan(rec)
	if err != nil {
		return 0, err
	}
	secs := max(int64(ttl/time.Second), 1)
	lease, err := s.cli.Grant(ctx, secs)
	if err != nil {
		return 0, writeError("grant plan lease", err)
	}
	key := s.keys.plan(rec.ID)
	resp, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, val, clientv3.WithLease(lease.ID))).Commit()
	if err != nil {
		return 0, writeError("create plan", err)
	}
	if !resp.Succeeded { // a fresh UUID never collides; refuse rather than overwrite
		return 0, ice.Errorf(ice.EINTERNAL, "plan %s already exists", rec.ID)
	}
	return resp.Header.Revision, nil
}

func (s *Store) LoadPlan(ctx context.Context, id string) (ice.PlanRecord, error) {
	resp, err := s.cli.Get(ctx, s.keys.plan(id))
	if err != nil {
		return ice.PlanRecord{}, readError("load plan", err)
	}
	if len(resp.Kvs) == 0 {
		return ice.PlanRecord{}, ice.NoSuchPlan(id)
	}
	return decodePlan(id, resp.Kvs[0].Value, resp.Kvs[0].ModRevision)
}

func (s *Store) FinishPlan(ctx context.Context, rec ice.PlanRecord) error {
	val, err := encodePlan(rec)
	if err != nil {
		return err
	}
	key := s.keys.plan(rec.ID)
	// WithIgnoreLease keeps the record on the lease it was created with.
	resp, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", rec.Revision)).
		Then(clientv3.OpPut(key, val, clientv3.WithIgnoreLease())).Commit()
	if err != nil {
		return writeError("finish plan", err)
	}
	if !resp.Succeeded {
		return ice.Errorf(ice.ECONFLICT, "plan %s was cancelled or has expired", rec.ID)
	}
	return nil
}

func (s *Store) CancelPlan(ctx context.Context, id string) error {
	key := s.keys.plan(id)
	for range 8 { // each lap loses only to a concurrent finish or cancel
		rec, err := s.LoadPlan(ctx, id)
		if err != nil {
			return err
		}
		if rec.Status == ice.PlanCancelled {
			return nil
		}
		rec.Status, rec.PlanTasks, rec.Error = ice.PlanCancelled, nil, nil
		val, err := encodePlan(rec)
		if err != nil {
			return err
		}
		resp, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", rec.Revision)).
			Then(clientv3.OpPut(key, val, clientv3.WithIgnoreLease())).Commit()
		if err != nil {
			return writeError("cancel plan", err)
		}
		if resp.Succeeded {
			return nil
		}
	}
	return ice.Errorf(ice.ECONFLICT, "plan %s changed during the cancel; retry", id)
}

func (s *Store) PlanChanged(ctx context.Context, id string, revision int64) <-chan struct{} {
	out := make(chan struct{})
	go func() {
		defer close(out)
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		defer cancel()
		for resp := range s.cli.Watch(wctx, s.keys.plan(id), clientv3.WithRev(revision+1)) {
			if resp.Err() != nil || len(resp.Events) > 0 {
				return
			}
		}
	}()
	return out
}

func (s *Store) PlanSigningKey(ctx context.Context) ([]byte, error) {
	key := s.keys.planSigningKey()
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("generate plan signing key: %w", err)
	}
	// Create if absent, and read what is there in the same Txn: every
	// replica ends with the key of the first one to ask.
	resp, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, hex.EncodeToString(fresh))).
		Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return nil, writeError("create plan signing key", err)
	}
	if resp.Succeeded {
		return fresh, nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return nil, ice.Errorf(ice.EINTERNAL, "plan signing key vanished between compare and read")
	}
	b, err := hex.DecodeString(string(kvs[0].Value))
	if err != nil || len(b) < 16 {
		return nil, fmt.Errorf("plan signing key at %s is not a hex key of at least 16 bytes", key)
	}
	return b, nil
}
