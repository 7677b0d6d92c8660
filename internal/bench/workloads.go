package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Workload names. Baselines talk to etcd or S3 directly; the rest go
// through the catalog's REST API.
const (
	wEtcdGet   = "etcd Get (baseline)"
	wEtcdTxn   = "etcd Txn (baseline)"
	wEtcdRange = "etcd Range 1000 keys (baseline)"
	wS3Put4k   = "S3 PUT 4 KiB (baseline)"
	wS3Get4k   = "S3 GET 4 KiB (baseline)"
	wS3PutMd   = "S3 PUT metadata (baseline)"
	wS3GetMd   = "S3 GET metadata (baseline)"
	wRawLoop   = "raw commit loop (baseline)"
	wRawLoop4  = "raw 4-table loop (baseline)"
	wLoad100   = "loadTable 100 snapshots"
	wLoad10k   = "loadTable 10000 snapshots"
	wList1k    = "listTables 1000 tables"
	wLoadStale = "loadTable If-None-Match stale"
	wCreate    = "createTable"
	wCommit1   = "commit 1 table"
	wCommit64  = "commit 64 tables"
	wMulti     = "multi-table commit (4)"
	wLoadMany  = "loadTable over N tables"
	multiWidth = 4
)

// baselineOf names the baseline each server workload is divided by.
var baselineOf = map[string]string{
	wLoad100: wEtcdGet, wLoad10k: wEtcdGet, wLoadStale: wEtcdGet, wList1k: wEtcdRange, wLoadMany: wEtcdGet,
	wCreate: wRawLoop, wCommit1: wRawLoop, wCommit64: wRawLoop, wMulti: wRawLoop4,
}

// fixture is the data the workloads run on, made once per run.
type fixture struct {
	loc100, loc10k string
	size100        int // bytes of the 100-snapshot metadata file
	size10k        int
	snapID         atomic.Int64
	point          atomic.Int64 // numbers fresh tables per point
}

func (r *runner) setup(ctx context.Context) error {
	s := r.s
	for _, ns := range []string{"bench", "list1k", "create", "commit"} {
		if err := s.createNamespace(ctx, ns); err != nil {
			return fmt.Errorf("create namespace %s: %w", ns, err)
		}
	}
	var err error
	if r.f.loc100, r.f.size100, err = s.placeMetadata(ctx, "bench/t100", 100); err != nil {
		return err
	}
	if err := s.register(ctx, "bench", "t100", r.f.loc100); err != nil {
		return err
	}
	if r.f.loc10k, r.f.size10k, err = s.placeMetadata(ctx, "bench/t10k", 10_000); err != nil {
		return err
	}
	if err := s.register(ctx, "bench", "t10k", r.f.loc10k); err != nil {
		return err
	}
	r.log.Info("metadata files", "100 snapshots", r.f.size100, "10000 snapshots", r.f.size10k)
	// Through the API, so the listing sees what createTable/register leave.
	if err := parallel(1000, 16, func(i int) error {
		return s.register(ctx, "list1k", tableName(i), r.f.loc100)
	}); err != nil {
		return fmt.Errorf("register list1k tables: %w", err)
	}
	r.f.snapID.Store(1_000_000)
	return nil
}

// ops returns the operation of a workload at concurrency c, after making
// what it needs.
func (r *runner) ops(ctx context.Context, name string, c int) (op, error) {
	s, f := r.s, &r.f
	switch name {
	case wEtcdGet:
		key := "t/bench/t100"
		return func(ctx context.Context, _, _ int) error {
			_, err := s.etcd.Get(ctx, key) // linearizable: the default
			return err
		}, nil
	case wEtcdRange:
		// What listTables over 1,000 tables reads: the namespace's table
		// keys, keys only, in one range.
		return func(ctx context.Context, _, _ int) error {
			_, err := s.etcd.Get(ctx, "t/list1k/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
			return err
		}, nil
	case wEtcdTxn:
		return r.txnOp(ctx, "txn", c, 1)
	case wS3Put4k, wS3PutMd:
		body := make([]byte, 4096)
		if name == wS3PutMd {
			body = make([]byte, f.size100)
		}
		return func(ctx context.Context, w, seq int) error {
			return s.s3Put(ctx, fmt.Sprintf("raw/put/%d/%d", w, seq%64), body)
		}, nil
	case wS3Get4k, wS3GetMd:
		size := 4096
		if name == wS3GetMd {
			size = f.size100
		}
		key := fmt.Sprintf("raw/get/%d", size)
		if err := s.s3Put(ctx, key, make([]byte, size)); err != nil {
			return nil, err
		}
		return func(ctx context.Context, _, _ int) error { return s.s3Get(ctx, key) }, nil
	case wRawLoop, wRawLoop4:
		n := 1
		if name == wRawLoop4 {
			n = multiWidth
		}
		txn, err := r.txnOp(ctx, "loop", c, 1)
		if err != nil {
			return nil, err
		}
		body := make([]byte, f.size100)
		return func(ctx context.Context, w, seq int) error {
			for i := 0; i < n; i++ {
				if err := s.s3Put(ctx, fmt.Sprintf("raw/loop/%d/%d-%d", w, seq, i), body); err != nil {
					return err
				}
			}
			return txn(ctx, w, seq)
		}, nil
	case wLoad100, wLoad10k:
		path := "/v1/namespaces/bench/tables/t100"
		if name == wLoad10k {
			path = "/v1/namespaces/bench/tables/t10k"
		}
		return func(ctx context.Context, _, _ int) error {
			return s.discard(ctx, http.MethodGet, path, nil, http.StatusOK)
		}, nil
	case wLoadStale:
		// A client whose copy is out of date: the ETag does not match, so
		// the full answer follows.
		return func(ctx context.Context, _, _ int) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/v1/namespaces/bench/tables/t100", nil)
			if err != nil {
				return err
			}
			req.Header.Set("If-None-Match", `"stale"`)
			return s.discardReq(req, http.StatusOK)
		}, nil
	case wList1k:
		return func(ctx context.Context, _, _ int) error {
			return s.discard(ctx, http.MethodGet, "/v1/namespaces/list1k/tables", nil, http.StatusOK)
		}, nil
	case wLoadMany:
		n := r.opt.RSSTables
		return func(ctx context.Context, _, _ int) error {
			return s.discard(ctx, http.MethodGet, "/v1/namespaces/many/tables/"+tableName(rand.IntN(n)), nil, http.StatusOK)
		}, nil
	case wCreate:
		p := f.point.Add(1)
		body := func(w, seq int) []byte {
			return mustJSON(map[string]any{"name": fmt.Sprintf("p%d_w%d_%d", p, w, seq), "schema": benchSchema})
		}
		return func(ctx context.Context, w, seq int) error {
			return s.discard(ctx, http.MethodPost, "/v1/namespaces/create/tables", body(w, seq), http.StatusOK)
		}, nil
	case wCommit1, wCommit64, wMulti:
		n := 64
		if name == wCommit1 {
			n = 1
		}
		p := f.point.Add(1)
		tables := make([]*commitTable, n)
		for i := range tables {
			tables[i] = newCommitTable(fmt.Sprintf("p%d_%d", p, i), 100)
		}
		// Fresh tables per point, from the 100-snapshot metadata, so every
		// point starts from the same size.
		if err := parallel(n, 16, func(i int) error { return s.register(ctx, "commit", tables[i].name, f.loc100) }); err != nil {
			return nil, err
		}
		if name == wMulti {
			return func(ctx context.Context, w, seq int) error {
				pick := make([]*commitTable, multiWidth)
				for i := range pick {
					pick[i] = tables[(w*multiWidth+i)%n]
				}
				unlock := lockAll(pick)
				defer unlock()
				changes := make([]any, multiWidth)
				for i, t := range pick {
					changes[i] = map[string]any{"identifier": map[string]any{"namespace": []string{"commit"}, "name": t.name},
						"requirements": []any{}, "updates": t.appendUpdates(f.snapID.Add(1))}
				}
				err := s.discard(ctx, http.MethodPost, "/v1/transactions/commit",
					mustJSON(map[string]any{"table-changes": changes}), http.StatusNoContent)
				for _, t := range pick {
					t.done(err == nil)
				}
				return err
			}, nil
		}
		return func(ctx context.Context, w, seq int) error {
			t := tables[(w+seq*c)%n]
			t.mu.Lock()
			defer t.mu.Unlock()
			err := s.discard(ctx, http.MethodPost, "/v1/namespaces/commit/tables/"+t.name,
				mustJSON(map[string]any{"requirements": []any{}, "updates": t.appendUpdates(f.snapID.Add(1))}), http.StatusOK)
			t.done(err == nil)
			return err
		}, nil
	}
	return nil, fmt.Errorf("unknown workload %q", name)
}

// commitTable is a table the commit workloads append to. Appends to one
// table are serialized here, as one writer's are: the client names the
// parent snapshot and the next sequence number, as iceberg-go's appends
// do, and concurrent writers of one table would conflict by design
// (optimistic concurrency), which is not what these points measure.
//
// Each append also expires the table's oldest snapshot, as a table under
// regular maintenance stays at a steady size: otherwise the metadata file
// would grow by a snapshot per commit and a point's figure would depend on
// how many commits the point before it made.
type commitTable struct {
	mu        sync.Mutex
	name      string
	snap, seq int64   // the current snapshot and last sequence number
	next      int64   // the snapshot the request in flight adds
	live      []int64 // snapshot ids, oldest first
}

func newCommitTable(name string, snapshots int) *commitTable {
	t := &commitTable{name: name, snap: int64(snapshots), seq: int64(snapshots)}
	for i := 1; i <= snapshots; i++ {
		t.live = append(t.live, int64(i))
	}
	return t
}

func (t *commitTable) appendUpdates(id int64) []any {
	t.next = id
	return []any{
		map[string]any{"action": "add-snapshot", "snapshot": map[string]any{
			"snapshot-id": id, "parent-snapshot-id": t.snap, "sequence-number": t.seq + 1,
			"timestamp-ms": time.Now().UnixMilli(), "schema-id": 0,
			"manifest-list": fmt.Sprintf("s3://%s/wh/commit/snap-%d.avro", bucket, id),
			"summary":       map[string]string{"operation": "append", "added-records": "1000"}}},
		map[string]any{"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": id},
		map[string]any{"action": "remove-snapshots", "snapshot-ids": []int64{t.live[0]}},
	}
}

// done records the outcome of the request in flight. A failed commit
// leaves the table as it was (or, if its outcome is unknown, the next
// append fails its sequence check and the point reports errors).
func (t *commitTable) done(ok bool) {
	if ok {
		t.snap, t.seq = t.next, t.seq+1
		t.live = append(t.live[1:], t.next)
	}
}

// lockAll locks distinct tables in name order, so workers locking
// overlapping sets cannot deadlock.
func lockAll(ts []*commitTable) (unlock func()) {
	sorted := slices.Clone(ts)
	slices.SortFunc(sorted, func(a, b *commitTable) int { return strings.Compare(a.name, b.name) })
	sorted = slices.CompactFunc(sorted, func(a, b *commitTable) bool { return a == b })
	for _, t := range sorted {
		t.mu.Lock()
	}
	return func() {
		for _, t := range sorted {
			t.mu.Unlock()
		}
	}
}

// txnOp is a conditional etcd write as a commit's swap is: compare the
// key's mod revision, then put. Each worker owns keys (of `keys` per
// worker), so the compare always holds and the baseline measures etcd,
// not conflicts.
func (r *runner) txnOp(ctx context.Context, prefix string, c, keys int) (op, error) {
	revs := make([][]int64, c)
	val := string(mustJSON(map[string]string{"table_type": "ICEBERG", "metadata_location": r.f.loc100, "previous_metadata_location": r.f.loc100}))
	for w := range revs {
		revs[w] = make([]int64, keys)
		for k := range revs[w] {
			resp, err := r.s.etcd.Put(ctx, fmt.Sprintf("raw/%s/%d/%d", prefix, w, k), val)
			if err != nil {
				return nil, fmt.Errorf("etcd put: %w", err)
			}
			revs[w][k] = resp.Header.Revision
		}
	}
	return func(ctx context.Context, w, seq int) error {
		k := seq % keys
		key := fmt.Sprintf("raw/%s/%d/%d", prefix, w, k)
		resp, err := r.s.etcd.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", revs[w][k])).
			Then(clientv3.OpPut(key, val)).Commit()
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			return fmt.Errorf("txn on %s lost its compare", key)
		}
		revs[w][k] = resp.Header.Revision
		return nil
	}, nil
}
