package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/internal/testenv"
)

func metricsText(t *testing.T, debugURL string) string {
	t.Helper()
	resp, err := http.Get(debugURL + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestScheduledMaintenanceOnElectedReplica runs two replicas with a
// maintenanceSchedule on one etcd: only the elected one runs the jobs (its
// metrics say so), the table's snapshots get expired, and when the leader
// shuts down the other replica takes over.
func TestScheduledMaintenanceOnElectedReplica(t *testing.T) {
	e := testenv.StartEmbeddedEtcd(t)
	first := testenv.CatalogConfig(t, e.Endpoint)
	first.MaintenanceSchedule = "50ms"
	second := testenv.CatalogConfig(t, e.Endpoint)
	second.MaintenanceSchedule = "50ms"
	second.Warehouse = first.Warehouse
	// Snapshot expiry only: the compaction jobs (on by default, as in Java
	// ice) would commit replace snapshots between this test's appends every
	// 50 ms, and each append asserts the branch it read.
	first.Maintenance.Jobs = []string{"SNAPSHOT_CLEANUP"}
	second.Maintenance.Jobs = first.Maintenance.Jobs
	replicas := []*testenv.Catalog{testenv.StartCatalog(t, first), testenv.StartCatalog(t, second)}

	ctx := context.Background()
	cat := testenv.Client(t, replicas[0].URL)
	if err := cat.CreateNamespace(ctx, table.Identifier{"ops"}, nil); err != nil {
		t.Fatal(err)
	}
	// The table's own property makes every snapshot but the current one expire.
	tbl, err := cat.CreateTable(ctx, table.Identifier{"ops", "events"}, eventSchema,
		catalog.WithProperties(iceberg.Properties{"history.expire.max-snapshot-age-ms": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 3; i++ {
		if tbl, err = tbl.AppendTable(ctx, eventBatch(t, i*10, 5), 100, nil); err != nil {
			t.Fatal(err)
		}
	}

	leader := -1
	deadline := time.Now().Add(60 * time.Second)
	for leader < 0 {
		for i, r := range replicas {
			if strings.Contains(metricsText(t, r.Debug), "\nice_maintenance_leader 1") {
				leader = i
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no replica became maintenance leader")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for {
		loaded, err := cat.LoadTable(ctx, table.Identifier{"ops", "events"})
		if err != nil {
			t.Fatal(err)
		}
		if len(loaded.Metadata().Snapshots()) == 1 {
			if ids := readIDs(t, loaded, nil); len(ids) != 15 {
				t.Fatalf("rows after expiry: %v", ids)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("snapshots never expired: %d left", len(loaded.Metadata().Snapshots()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	other := 1 - leader
	if m := metricsText(t, replicas[other].Debug); !strings.Contains(m, "\nice_maintenance_leader 0") || strings.Contains(m, "ice_maintenance_runs_total{") {
		t.Fatal("the replica that is not leader ran maintenance")
	}
	if m := metricsText(t, replicas[leader].Debug); !strings.Contains(m, `ice_maintenance_runs_total{job="expire-snapshots",outcome="ok"}`) {
		t.Fatalf("leader's metrics lack its runs:\n%s", m)
	}

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := replicas[leader].Server.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(metricsText(t, replicas[other].Debug), "\nice_maintenance_leader 1") {
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatal("the other replica did not take over")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
