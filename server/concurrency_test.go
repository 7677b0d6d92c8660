package server_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// TestConcurrentAppendsTwoReplicas has 16 writers append to one table
// through two server replicas that share one etcd and one warehouse. Every
// commit acknowledged with a 2xx must end up in the table's history exactly
// once: the lost-update bug of Altinity/ice issue 158 must not happen here.
func TestConcurrentAppendsTwoReplicas(t *testing.T) {
	t.Run("embedded etcd", func(t *testing.T) {
		concurrentAppends(t, []string{testenv.StartEmbeddedEtcd(t).Endpoint})
	})
	t.Run("3-member etcd cluster", func(t *testing.T) {
		concurrentAppends(t, testenv.StartEtcdCluster(t, 3).Endpoints())
	})
}

func concurrentAppends(t *testing.T, etcdEndpoints []string) {
	const writers, appendsEach = 16, 3
	ctx := context.Background()
	warehouse := "file://" + t.TempDir()
	var clients []*rest.Catalog
	for i := 0; i < 2; i++ {
		cfg := testenv.CatalogConfig(t, etcdEndpoints...)
		cfg.Warehouse = warehouse
		clients = append(clients, testenv.Client(t, testenv.StartCatalog(t, cfg).URL))
	}
	ident := table.Identifier{"load", "events"}
	if err := clients[0].CreateNamespace(ctx, ident[:1], nil); err != nil {
		t.Fatal(err)
	}
	if _, err := clients[0].CreateTable(ctx, ident, eventSchema); err != nil {
		t.Fatal(err)
	}

	var (
		mu      sync.Mutex
		acked   = map[int64]int{} // snapshot id -> times acknowledged
		retries int
		wg      sync.WaitGroup
		errs    = make(chan error, writers)
	)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cat := clients[w%2]
			for a := 0; a < appendsEach; a++ {
				for attempt := 0; ; attempt++ {
					tbl, err := cat.LoadTable(ctx, ident)
					if err != nil {
						errs <- err
						return
					}
					after, err := tbl.AppendTable(ctx, eventBatch(t, int64(w*1000+a), 1), 10, nil)
					if isCommitConflict(err) && attempt < 200 {
						mu.Lock()
						retries++
						mu.Unlock()
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					acked[after.CurrentSnapshot().SnapshotID]++
					mu.Unlock()
					break
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writer failed: %v", err)
	}

	final, err := clients[1].LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	inHistory := map[int64]int{}
	for _, s := range final.Metadata().Snapshots() {
		inHistory[s.SnapshotID]++
	}
	if len(acked) != writers*appendsEach {
		t.Fatalf("acknowledged %d distinct snapshots, want %d", len(acked), writers*appendsEach)
	}
	for id, n := range acked {
		if n != 1 || inHistory[id] != 1 {
			t.Errorf("snapshot %d acknowledged %d times, in history %d times; want 1 and 1", id, n, inHistory[id])
		}
	}
	if len(inHistory) != len(acked) {
		t.Errorf("history has %d snapshots, %d were acknowledged", len(inHistory), len(acked))
	}
	if rows := readIDs(t, final, nil); len(rows) != writers*appendsEach {
		t.Errorf("table has %d rows, want %d", len(rows), writers*appendsEach)
	}
	t.Logf("%d commits acknowledged, %d client retries after 409", len(acked), retries)
}

func isCommitConflict(err error) bool {
	return err != nil && (errors.Is(err, table.ErrCommitFailed) || strings.Contains(err.Error(), "CommitFailed"))
}
