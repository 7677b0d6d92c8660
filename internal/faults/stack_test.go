//go:build faults

package faults_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/apache/iceberg-go/catalog/rest"
	_ "github.com/apache/iceberg-go/io/gocloud/s3"
	"github.com/apache/iceberg-go/table"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/faults"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// serverBin is the ice-rest-catalog binary TestMain builds once for every
// test: a replica must be a real process for SIGKILL to mean anything.
var serverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ice-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverBin, err = testenv.BuildServer(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const bucket = "warehouse"

// stack is a 3-member etcd cluster, an S3 server and three catalog
// replicas, all processes on loopback, with one recording iceberg-go client
// per replica.
type stack struct {
	t        *testing.T
	etcd     *testenv.EtcdCluster
	s3       *testenv.S3Server
	replicas []*testenv.ServerProc
	clients  []*rest.Catalog
	// proxies stand between the last replica and each etcd member when the
	// stack is started withProxy; Cut isolates that replica alone.
	proxies []*testenv.Proxy
	hist    *faults.History
	etcdCli *clientv3.Client
	// feed consumes the change feed for the events column (events_test.go);
	// chainLens is each checked table's number of snapshots on main.
	feed      *feedLog
	chainLens map[string]int
}

// startStack starts the stack; extraConfig is appended to every replica's
// config file.
func startStack(t *testing.T, withProxy bool, extraConfig string) *stack {
	t.Helper()
	s := &stack{t: t, hist: faults.NewHistory(), chainLens: map[string]int{}}
	s.etcd = testenv.StartEtcdCluster(t, 3)
	s.s3 = testenv.StartS3(t)
	s.s3.CreateBucket(t, bucket)
	for i := 0; i < 3; i++ {
		endpoints := s.etcd.Endpoints()
		if withProxy && i == 2 {
			for j, e := range endpoints {
				p := testenv.StartProxy(t, strings.TrimPrefix(e, "http://"))
				s.proxies = append(s.proxies, p)
				endpoints[j] = "http://" + p.Addr
			}
		}
		cfg := fmt.Sprintf(`uri: etcd:%s
warehouse: s3://%s/faults
s3: {endpoint: %q, pathStyleAccess: true, accessKeyID: %q, secretAccessKey: %q, region: %q}
vendedCredentials: {staticKeys: true}
anonymousAccess: {enabled: true, accessConfig: {readOnly: false}}
dataDir: %s
%s`, strings.Join(endpoints, ","), bucket, s.s3.Endpoint, s.s3.AccessKey, s.s3.SecretKey, s.s3.Region, t.TempDir(), extraConfig)
		r := testenv.StartServerProc(t, fmt.Sprintf("replica%d", i), serverBin, cfg)
		s.replicas = append(s.replicas, r)
		s.clients = append(s.clients, testenv.Client(t, r.URL,
			rest.WithCustomTransport(&faults.Recorder{Next: http.DefaultTransport.(*http.Transport).Clone(), History: s.hist}),
			// Writers get S3 keys the way engines do: vended with loadTable.
			rest.WithHeaders(map[string]string{"X-Iceberg-Access-Delegation": "vended-credentials"})))
	}
	var err error
	s.etcdCli, err = etcd.Connect(context.Background(), clientv3.Config{Endpoints: s.etcd.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.etcdCli.Close() })
	s.feed = followFeed(t, etcd.NewStore(s.etcdCli, "default"))
	return s
}

// createTables creates namespace ns and n tables in it through replica 0.
func (s *stack) createTables(ns string, n int) []table.Identifier {
	s.t.Helper()
	ctx := context.Background()
	if err := s.clients[0].CreateNamespace(ctx, table.Identifier{ns}, nil); err != nil {
		s.t.Fatal(err)
	}
	var ids []table.Identifier
	for i := 0; i < n; i++ {
		id := table.Identifier{ns, fmt.Sprintf("t%d", i)}
		if _, err := s.clients[0].CreateTable(ctx, id, rowSchema); err != nil {
			s.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// check runs every after-scenario check and returns the report: the final
// history against the answers (Verify), linearizability, and that every
// table pointer and every snapshot's manifest list names an existing file.
func (s *stack) check(ids []table.Identifier) faults.Report {
	s.t.Helper()
	ctx := context.Background()
	chains := map[string][]faults.Snapshot{}
	for _, id := range ids {
		// This load is recorded too: the history ends with what it saw.
		tbl, err := s.clients[0].LoadTable(ctx, id)
		if err != nil {
			s.t.Fatalf("final load of %v: %v", id, err)
		}
		snaps := map[int64]faults.Snapshot{}
		for _, sn := range tbl.Metadata().Snapshots() {
			fs := faults.Snapshot{ID: sn.SnapshotID}
			if sn.ParentSnapshotID != nil {
				fs.Parent = *sn.ParentSnapshotID
			}
			if sn.Summary != nil {
				fs.Marker = sn.Summary.Properties[faults.MarkerKey]
			}
			snaps[sn.SnapshotID] = fs
			if !s.exists(sn.ManifestList) {
				s.t.Errorf("%v: snapshot %d (%s) names a missing manifest list %s", id, sn.SnapshotID, fs.Marker, sn.ManifestList)
			}
		}
		var head int64
		if cur := tbl.CurrentSnapshot(); cur != nil {
			head = cur.SnapshotID
		}
		chain, err := faults.Chain(head, snaps)
		if err != nil {
			s.t.Errorf("%v: %v", id, err)
		}
		if len(chain) != len(snaps) {
			s.t.Errorf("%v: %d snapshots, %d of them on main: appends must all be on main", id, len(snaps), len(chain))
		}
		chains[strings.Join(id, ".")] = chain
		s.chainLens[strings.Join(id, ".")] = len(chain)
	}
	s.checkPointers()

	// Only the given tables' history: others may have been dropped.
	var ops []faults.Op
	for _, op := range s.hist.Ops() {
		if _, ok := chains[op.Table]; ok || op.Kind == faults.Other {
			ops = append(ops, op)
		}
	}
	r := faults.Verify(ops, chains)
	if !r.OK() {
		s.t.Errorf("history broken: lost %v, duplicated %v, phantom %v, unrecorded %v", r.Lost, r.Duplicated, r.Phantom, r.Unrecorded)
	}
	res, why := faults.Linearizable(ops, 2*time.Minute)
	switch res {
	case porcupine.Illegal:
		s.t.Errorf("the commit history is not linearizable:\n%s", why)
	case porcupine.Unknown:
		s.t.Logf("linearizability check inconclusive within its time bound")
	}
	return r
}

// checkPointers reads every table pointer straight from etcd and checks
// that its metadata files exist in S3.
func (s *stack) checkPointers() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := s.etcdCli.Get(ctx, "t/", clientv3.WithPrefix())
	if err != nil {
		s.t.Fatalf("read table pointers: %v", err)
	}
	for _, kv := range resp.Kvs {
		var ptr map[string]string
		if err := json.Unmarshal(kv.Value, &ptr); err != nil {
			s.t.Errorf("pointer %s: %v", kv.Key, err)
			continue
		}
		for _, k := range []string{"metadata_location", "previous_metadata_location"} {
			if loc := ptr[k]; loc != "" && !s.exists(loc) {
				s.t.Errorf("pointer %s: %s %s does not exist", kv.Key, k, loc)
			}
		}
	}
}

// exists HEADs an s3://bucket/key location on the S3 server.
func (s *stack) exists(loc string) bool {
	s.t.Helper()
	path, ok := strings.CutPrefix(loc, "s3://")
	if !ok {
		s.t.Errorf("location %q is not on S3", loc)
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := s.s3.NewRequest(ctx, http.MethodHead, "/"+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("HEAD %s: %v", loc, err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
