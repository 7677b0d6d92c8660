package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// txnBatch is how many puts one etcd transaction of the bulk loader holds;
// etcd's default --max-txn-ops is 128.
const txnBatch = 128

var benchSchema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
	iceberg.NestedField{ID: 2, Name: "data", Type: iceberg.PrimitiveTypes.String},
)

// buildMetadata returns the JSON of a table's metadata with n snapshots, each
// made current on main in turn, as n appends would leave it. It goes through
// iceberg-go's MetadataBuilder, which is far faster than n commits.
func buildMetadata(loc string, n int) ([]byte, error) {
	md, err := table.NewMetadata(benchSchema, iceberg.UnpartitionedSpec, table.UnsortedSortOrder, loc,
		iceberg.Properties{"format-version": "2"})
	if err != nil {
		return nil, fmt.Errorf("new metadata: %w", err)
	}
	b, err := table.MetadataBuilderFromBase(md, "")
	if err != nil {
		return nil, fmt.Errorf("metadata builder: %w", err)
	}
	schemaID := 0
	ts := time.Now().UnixMilli() // at or after the table's creation, as the builder requires
	for i := 1; i <= n; i++ {
		snap := &table.Snapshot{SnapshotID: int64(i), SequenceNumber: int64(i), TimestampMs: ts + int64(i),
			ManifestList: fmt.Sprintf("%s/metadata/snap-%d-1-manifest-list.avro", loc, i),
			Summary: &table.Summary{Operation: table.OpAppend, Properties: iceberg.Properties{
				"added-data-files": "1", "added-records": "1000", "total-records": fmt.Sprint(i * 1000)}},
			SchemaID: &schemaID}
		if i > 1 {
			parent := int64(i - 1)
			snap.ParentSnapshotID = &parent
		}
		if err := b.AddSnapshot(snap); err != nil {
			return nil, fmt.Errorf("add snapshot %d: %w", i, err)
		}
		if err := b.SetSnapshotRef(table.MainBranch, int64(i), table.BranchRef); err != nil {
			return nil, fmt.Errorf("set main to %d: %w", i, err)
		}
	}
	built, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("build metadata: %w", err)
	}
	return json.Marshal(built)
}

// placeMetadata writes metadata with n snapshots for a table under
// s3://bench/wh/<name> and returns its location and size.
func (s *stack) placeMetadata(ctx context.Context, name string, n int) (string, int, error) {
	loc := fmt.Sprintf("s3://%s/wh/%s", bucket, name)
	raw, err := buildMetadata(loc, n)
	if err != nil {
		return "", 0, err
	}
	key := fmt.Sprintf("wh/%s/metadata/00000-%d.metadata.json", name, time.Now().UnixNano())
	if err := s.s3Put(ctx, key, raw); err != nil {
		return "", 0, fmt.Errorf("put metadata: %w", err)
	}
	return "s3://" + bucket + "/" + key, len(raw), nil
}

func (s *stack) createNamespace(ctx context.Context, ns string) error {
	_, err := s.do(ctx, http.MethodPost, "/v1/namespaces", mustJSON(map[string]any{"namespace": []string{ns}}), http.StatusOK)
	if err != nil && strings.Contains(err.Error(), "HTTP 409") {
		return nil
	}
	return err
}

// register registers a table at a metadata location through the API.
func (s *stack) register(ctx context.Context, ns, name, loc string) error {
	return s.discard(ctx, http.MethodPost, "/v1/namespaces/"+ns+"/register",
		mustJSON(map[string]any{"name": name, "metadata-location": loc}), http.StatusOK)
}

// bulkTables writes n table entries into ns straight into etcd, in the
// store's key layout, every one pointing at loc: how a catalog of a
// million tables is made in seconds. locFor, if set, gives table i its own
// location.
func (s *stack) bulkTables(ctx context.Context, ns string, n int, loc string, locFor func(i int) string) error {
	if _, err := s.etcd.Put(ctx, "n/"+ns, "{}"); err != nil {
		return fmt.Errorf("put namespace %s: %w", ns, err)
	}
	batches := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for first := range batches {
				ops := make([]clientv3.Op, 0, txnBatch)
				for i := first; i < min(first+txnBatch, n); i++ {
					l := loc
					if locFor != nil {
						l = locFor(i)
					}
					ops = append(ops, clientv3.OpPut(fmt.Sprintf("t/%s/%s", ns, tableName(i)),
						string(mustJSON(map[string]string{"table_type": "ICEBERG", "metadata_location": l}))))
				}
				if _, err := s.etcd.Txn(ctx).Then(ops...).Commit(); err != nil {
					errs <- fmt.Errorf("bulk put: %w", err)
					return
				}
			}
		}()
	}
	var err error
loop:
	for first := 0; first < n; first += txnBatch {
		select {
		case batches <- first:
		case err = <-errs:
			break loop
		}
	}
	close(batches)
	wg.Wait()
	if err == nil && len(errs) > 0 {
		err = <-errs
	}
	return err
}

func tableName(i int) string { return fmt.Sprintf("t%07d", i) }

// parallel runs fn(i) for i in [0,n) on c workers and returns the first error.
func parallel(n, c int, fn func(i int) error) error {
	next := make(chan int)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}
