package server_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// TestClusterBackupRestoreAsDocumented runs the commands of docs/backup.md
// for a 3-member cluster with the real binaries: etcdctl snapshot save from
// one member, etcdutl snapshot restore into a data dir per member with a new
// cluster token, three etcd processes on them, and a catalog server on the
// restored cluster that serves the same tables.
func TestClusterBackupRestoreAsDocumented(t *testing.T) {
	if testing.Short() {
		t.Skip("starts six etcd processes")
	}
	etcdctl, etcdutl, etcdBin := testenv.ToolPath(t, "etcdctl"), testenv.ToolPath(t, "etcdutl"), testenv.ToolPath(t, "etcd")
	ctx := context.Background()
	cluster := testenv.StartEtcdCluster(t, 3)
	cfg := testenv.CatalogConfig(t, cluster.Endpoints()...)
	c := testenv.StartCatalog(t, cfg)
	cat := testenv.Client(t, c.URL)
	if err := cat.CreateNamespace(ctx, table.Identifier{"sales"}, nil); err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.CreateTable(ctx, table.Identifier{"sales", "events"}, eventSchema)
	if err != nil {
		t.Fatal(err)
	}
	if tbl, err = tbl.AppendTable(ctx, eventBatch(t, 0, 10), 100, nil); err != nil {
		t.Fatal(err)
	}

	snap := filepath.Join(t.TempDir(), "catalog.db")
	if out, err := exec.Command(etcdctl, "--endpoints="+cluster.Members[1].ClientURL, "snapshot", "save", snap).CombinedOutput(); err != nil {
		t.Fatalf("etcdctl snapshot save: %v\n%s", err, out)
	}

	type member struct{ name, client, peer, dir string }
	var members []member
	var peers []string
	for i := 0; i < 3; i++ {
		m := member{name: fmt.Sprintf("etcd-%d", i), dir: filepath.Join(t.TempDir(), "restored"),
			client: fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t)), peer: fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))}
		members = append(members, m)
		peers = append(peers, m.name+"="+m.peer)
	}
	initial := strings.Join(peers, ",")
	token := fmt.Sprintf("ice-etcd-restored-%d", time.Now().UnixNano())
	for _, m := range members {
		out, err := exec.Command(etcdutl, "snapshot", "restore", snap, "--name", m.name, "--data-dir", m.dir,
			"--initial-cluster", initial, "--initial-cluster-token", token, "--initial-advertise-peer-urls", m.peer).CombinedOutput()
		if err != nil {
			t.Fatalf("etcdutl snapshot restore: %v\n%s", err, out)
		}
	}
	var endpoints []string
	for _, m := range members {
		testenv.StartProc(t, testenv.ProcSpec{Name: "restored-" + m.name, Path: etcdBin, Args: []string{
			"--name", m.name, "--data-dir", m.dir,
			"--listen-client-urls", m.client, "--advertise-client-urls", m.client,
			"--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
			"--initial-cluster", initial, "--initial-cluster-token", token, "--unsafe-no-fsync"}})
		endpoints = append(endpoints, m.client)
	}
	cli, err := etcd.Connect(ctx, clientv3.Config{Endpoints: endpoints})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		gctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := cli.Get(gctx, "health", clientv3.WithCountOnly())
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restored cluster not healthy: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	restored := testenv.CatalogConfig(t, endpoints...)
	restored.Warehouse = cfg.Warehouse
	c2 := testenv.StartCatalog(t, restored)
	got, err := testenv.Client(t, c2.URL).LoadTable(ctx, table.Identifier{"sales", "events"})
	if err != nil {
		t.Fatal(err)
	}
	if got.MetadataLocation() != tbl.MetadataLocation() {
		t.Fatalf("metadata location %s, want %s", got.MetadataLocation(), tbl.MetadataLocation())
	}
	if ids := readIDs(t, got, nil); len(ids) != 10 {
		t.Fatalf("rows %v, want 10", ids)
	}
}
