package server_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/server"
)

// startBenchCatalog starts a replica without the spec validator, whose cost
// would swamp what is measured.
func startBenchCatalog(b *testing.B, cfg *config.Config) string {
	b.Helper()
	srv, err := server.Start(context.Background(), cfg, testenv.DiscardLogger())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	testenv.WaitReady(b, "http://"+srv.DebugAddr()+"/readyz")
	return "http://" + srv.Addr()
}

// BenchmarkScanPlanning compares planning a scan with iceberg-go in the
// client (reading the manifests itself) with asking the server, inline or
// through plan tasks. Each iteration uses a different filter, so neither
// side answers from a cached plan.
//
//	go test -run '^$' -bench ScanPlanning -benchtime 200x ./server/
func BenchmarkScanPlanning(b *testing.B) {
	etcd := testenv.StartEmbeddedEtcd(b)
	directURL := startBenchCatalog(b, testenv.CatalogConfig(b, etcd.Endpoint))
	tasksCfg := testenv.CatalogConfig(b, etcd.Endpoint)
	tasksCfg.ScanPlanning.FilesPerTask = 25
	tasksURL := startBenchCatalog(b, tasksCfg)

	cat := testenv.Client(b, directURL)
	pt := writePlanTable(b, cat, "bench", 30)
	ctx := context.Background()
	load := func(url string) *table.Table {
		tbl, err := testenv.Client(b, url).LoadTable(ctx, pt.ident)
		if err != nil {
			b.Fatal(err)
		}
		return tbl
	}
	b.Logf("table: %d data files", len(filePaths(b, load(directURL).Scan())))
	filter := func(i int) iceberg.BooleanExpression {
		return iceberg.GreaterThanEqual(iceberg.Reference("id"), int64(i%3000))
	}
	for _, c := range []struct {
		name string
		tbl  *table.Table
		mode table.ScanPlanningMode
	}{
		{"local", load(directURL), table.ScanPlanningLocal},
		{"server-inline", load(directURL), table.ScanPlanningRemote},
		{"server-plan-tasks", load(tasksURL), table.ScanPlanningRemote},
	} {
		b.Run(c.name, func(b *testing.B) {
			i := 0
			cpu := cpuTime(b)
			for b.Loop() {
				i++
				filePaths(b, c.tbl.Scan(table.WithRowFilter(filter(i)), table.WithScanPlanningMode(c.mode)))
			}
			// Wall time depends on how loaded the machine is; the CPU the
			// process spent (client, server and embedded etcd alike) less so.
			b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
