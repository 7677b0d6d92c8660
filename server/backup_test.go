package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/server"
)

// TestBackupRestore populates a catalog on the embedded default, snapshots
// its etcd with the backup code while it serves, restores the snapshot with
// the real etcdutl into a new data directory, starts a new server (and so a
// new etcd) on it, and checks every table: same metadata location, same rows.
func TestBackupRestore(t *testing.T) {
	etcdutl := testenv.ToolPath(t, "etcdutl")
	ctx := context.Background()
	cfg := testenv.CatalogConfig(t)
	c := testenv.StartCatalog(t, cfg)
	cat := testenv.Client(t, c.URL)

	type state struct {
		location string
		rows     []int64
	}
	want := map[string]state{}
	for _, ns := range []table.Identifier{{"sales"}, {"sales", "eu"}, {"logs"}} {
		if err := cat.CreateNamespace(ctx, ns, nil); err != nil {
			t.Fatal(err)
		}
		ident := append(append(table.Identifier{}, ns...), "events")
		tbl, err := cat.CreateTable(ctx, ident, eventSchema)
		if err != nil {
			t.Fatal(err)
		}
		for i := int64(0); i < 2; i++ {
			if tbl, err = tbl.AppendTable(ctx, eventBatch(t, i*10, 5), 100, nil); err != nil {
				t.Fatal(err)
			}
		}
		want[filepath.Join(ident...)] = state{tbl.MetadataLocation(), readIDs(t, tbl, nil)}
	}

	snap := filepath.Join(t.TempDir(), "catalog.db")
	if _, err := server.Backup(ctx, cfg, testenv.DiscardLogger(), snap); err != nil {
		t.Fatalf("backup: %v", err)
	}

	// The config docs/backup.md gives for this restore, on this test's
	// directories and free ports: the files stay where they are; only etcd
	// is restored.
	text := testenv.DocBlock(t, testenv.RepoFile(t, "docs/backup.md"), "yaml", "restored.yaml")
	text = strings.NewReplacer("/srv/ice/data-restored", t.TempDir(), "file:///srv/ice/data/warehouse", cfg.Warehouse,
		"127.0.0.1:5000", "127.0.0.1:0", "127.0.0.1:5001", "127.0.0.1:0").Replace(text)
	restored, err := config.Parse([]byte(text), os.Getenv)
	if err != nil {
		t.Fatalf("docs/backup.md's restored.yaml: %v\n%s", err, text)
	}
	out, err := exec.Command(etcdutl, "snapshot", "restore", snap,
		"--data-dir", filepath.Join(restored.DataDir, "etcd"),
		"--name", "ice-rest-catalog",
		"--initial-cluster", "ice-rest-catalog=http://localhost:2380",
		"--initial-advertise-peer-urls", "http://localhost:2380").CombinedOutput()
	if err != nil {
		t.Fatalf("etcdutl snapshot restore: %v\n%s", err, out)
	}
	c2 := testenv.StartCatalog(t, restored)
	cat2 := testenv.Client(t, c2.URL)
	for _, ns := range []table.Identifier{{"sales"}, {"sales", "eu"}, {"logs"}} {
		ident := append(append(table.Identifier{}, ns...), "events")
		tbl, err := cat2.LoadTable(ctx, ident)
		if err != nil {
			t.Fatalf("restored catalog: load %v: %v", ident, err)
		}
		w := want[filepath.Join(ident...)]
		if tbl.MetadataLocation() != w.location {
			t.Fatalf("%v: metadata location %s, want %s", ident, tbl.MetadataLocation(), w.location)
		}
		got := readIDs(t, tbl, nil)
		if len(got) != len(w.rows) || len(got) != 10 {
			t.Fatalf("%v: rows %v, want %v", ident, got, w.rows)
		}
		for i := range got {
			if got[i] != w.rows[i] {
				t.Fatalf("%v: rows %v, want %v", ident, got, w.rows)
			}
		}
	}
}

// TestPerformMaintenanceReachesRunningServer runs perform-maintenance's code
// while a server on the embedded default holds the etcd data directory: it
// finds the server's etcd through <dataDir>/etcd.endpoint.
func TestPerformMaintenanceReachesRunningServer(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.CatalogConfig(t)
	c := testenv.StartCatalog(t, cfg)
	cat := testenv.Client(t, c.URL)
	if err := cat.CreateNamespace(ctx, table.Identifier{"ops"}, nil); err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.CreateTable(ctx, table.Identifier{"ops", "events"}, eventSchema)
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 3; i++ {
		if tbl, err = tbl.AppendTable(ctx, eventBatch(t, i*10, 5), 100, nil); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Maintenance.MaxSnapshotAgeHours = 0
	cfg.Maintenance.MinSnapshotsToKeep = 1
	rep, err := server.PerformMaintenance(ctx, cfg, testenv.DiscardLogger(), true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Tables != 1 || !rep.DryRun {
		t.Fatalf("report: %+v", rep)
	}
}
