package etcd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

func newClient(t *testing.T) *clientv3.Client {
	t.Helper()
	return testenv.EtcdClient(t)
}

func get(t *testing.T, cli *clientv3.Client, key string) (map[string]string, bool) {
	t.Helper()
	resp, err := cli.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return nil, false
	}
	var m map[string]string
	if err := json.Unmarshal(resp.Kvs[0].Value, &m); err != nil {
		t.Fatalf("value of %s is not a JSON object of strings: %s", key, resp.Kvs[0].Value)
	}
	return m, true
}

func allKeys(t *testing.T, cli *clientv3.Client) []string {
	t.Helper()
	resp, err := cli.Get(context.Background(), "", clientv3.WithFromKey(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range resp.Kvs {
		keys = append(keys, string(kv.Key))
	}
	return keys
}

// TestKeyLayout checks that the keys and values we write are exactly those
// of the Java ice-rest-catalog's layout.
func TestKeyLayout(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ name, prefix string }{{"default", ""}, {"analytics", "analytics/"}} {
		t.Run(tc.name, func(t *testing.T) {
			cli := newClient(t)
			s := etcd.NewStore(cli, tc.name)
			must(t, s.CreateNamespace(ctx, ice.Namespace{"a"}, map[string]string{"k": "v"}))
			must(t, s.CreateNamespace(ctx, ice.Namespace{"a", "b"}, nil))
			id := ice.TableIdent{Namespace: ice.Namespace{"a", "b"}, Name: "t-1"}
			must(t, s.SwapTables(ctx, []ice.TableSwap{{ID: id, NewLocation: "s3://w/a/b/t-1/metadata/00000-x.metadata.json"}}, nil))

			if props, _ := get(t, cli, tc.prefix+"n/a"); props["k"] != "v" || len(props) != 1 {
				t.Errorf("n/a = %v", props)
			}
			if props, ok := get(t, cli, tc.prefix+"n/a/b"); !ok || len(props) != 0 {
				t.Errorf("n/a/b = %v, %v; want {}", props, ok)
			}
			entry, _ := get(t, cli, tc.prefix+"t/a/b/t-1")
			want := map[string]string{"table_type": "ICEBERG", "metadata_location": "s3://w/a/b/t-1/metadata/00000-x.metadata.json"}
			if fmt.Sprint(entry) != fmt.Sprint(want) {
				t.Errorf("new table entry = %v, want %v (no previous_metadata_location)", entry, want)
			}

			ptr, err := s.LoadTable(ctx, id)
			must(t, err)
			must(t, s.SwapTables(ctx, []ice.TableSwap{{ID: id, Base: ptr, NewLocation: "s3://w/a/b/t-1/metadata/00001-y.metadata.json"}}, nil))
			entry, _ = get(t, cli, tc.prefix+"t/a/b/t-1")
			if entry["metadata_location"] != "s3://w/a/b/t-1/metadata/00001-y.metadata.json" ||
				entry["previous_metadata_location"] != "s3://w/a/b/t-1/metadata/00000-x.metadata.json" {
				t.Errorf("after commit entry = %v", entry)
			}

			to := ice.TableIdent{Namespace: ice.Namespace{"a"}, Name: "t2"}
			must(t, s.RenameTable(ctx, id, to))
			if _, ok := get(t, cli, tc.prefix+"t/a/b/t-1"); ok {
				t.Error("rename left the old key")
			}
			ptr, err = s.LoadTable(ctx, to)
			must(t, err)
			must(t, s.DropTable(ctx, to, ptr))
			want2 := []string{tc.prefix + "n/a", tc.prefix + "n/a/b"}
			if got := allKeys(t, cli); fmt.Sprint(got) != fmt.Sprint(want2) {
				t.Errorf("keys after drop = %v, want %v", got, want2)
			}
		})
	}
}

// TestServesJavaWrittenEntries loads entries as the Java server writes them
// (including a namespace stored as "null" and extra table keys), and checks
// that our rewrite keeps the keys we do not know.
func TestServesJavaWrittenEntries(t *testing.T) {
	ctx := context.Background()
	cli := newClient(t)
	for k, v := range map[string]string{
		"n/legacy":          `null`,
		"n/legacy/child":    `{"owner":"java"}`,
		"t/legacy/child/t1": `{"table_type":"ICEBERG","metadata_location":"file://w/1.metadata.json","previous_metadata_location":"file://w/0.metadata.json","custom":"kept"}`,
	} {
		if _, err := cli.Put(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	s := etcd.NewStore(cli, "default")
	props, err := s.LoadNamespace(ctx, ice.Namespace{"legacy"})
	must(t, err)
	if len(props.Properties) != 0 {
		t.Errorf("null namespace props = %v", props.Properties)
	}
	children, _, err := s.ListNamespaces(ctx, ice.Namespace{"legacy"}, ice.Page{})
	must(t, err)
	if fmt.Sprint(children) != "[legacy.child]" {
		t.Errorf("children = %v", children)
	}
	id := ice.TableIdent{Namespace: ice.Namespace{"legacy", "child"}, Name: "t1"}
	ptr, err := s.LoadTable(ctx, id)
	must(t, err)
	if ptr.MetadataLocation != "file://w/1.metadata.json" || ptr.PreviousMetadataLocation != "file://w/0.metadata.json" {
		t.Errorf("pointer = %+v", ptr)
	}
	must(t, s.SwapTables(ctx, []ice.TableSwap{{ID: id, Base: ptr, NewLocation: "file://w/2.metadata.json"}}, nil))
	entry, _ := get(t, cli, "t/legacy/child/t1")
	if entry["custom"] != "kept" || entry["previous_metadata_location"] != "file://w/1.metadata.json" {
		t.Errorf("rewritten entry = %v", entry)
	}
}

func TestSwapComparesRevision(t *testing.T) {
	ctx := context.Background()
	s := etcd.NewStore(newClient(t), "default")
	must(t, s.CreateNamespace(ctx, ice.Namespace{"n"}, nil))
	id := ice.TableIdent{Namespace: ice.Namespace{"n"}, Name: "t"}
	must(t, s.SwapTables(ctx, []ice.TableSwap{{ID: id, NewLocation: "file:///0"}}, nil))
	if err := s.SwapTables(ctx, []ice.TableSwap{{ID: id, NewLocation: "file:///dup"}}, nil); ice.ErrorCode(err) != ice.ECONFLICT {
		t.Fatalf("second create: %v, want conflict", err)
	}
	stale, err := s.LoadTable(ctx, id)
	must(t, err)
	must(t, s.SwapTables(ctx, []ice.TableSwap{{ID: id, Base: stale, NewLocation: "file:///1"}}, nil))
	if err := s.SwapTables(ctx, []ice.TableSwap{{ID: id, Base: stale, NewLocation: "file:///lost"}}, nil); ice.ErrorCode(err) != ice.ECONFLICT {
		t.Fatalf("swap from a stale base: %v, want conflict", err)
	}
	cur, err := s.LoadTable(ctx, id)
	must(t, err)
	if cur.MetadataLocation != "file:///1" {
		t.Fatalf("a stale swap overwrote the pointer: %s", cur.MetadataLocation)
	}
	// Multi-table: one stale table fails the whole transaction.
	other := ice.TableIdent{Namespace: ice.Namespace{"n"}, Name: "u"}
	err = s.SwapTables(ctx, []ice.TableSwap{{ID: other, NewLocation: "file:///u0"}, {ID: id, Base: stale, NewLocation: "file:///x"}}, nil)
	if ice.ErrorCode(err) != ice.ECONFLICT {
		t.Fatalf("multi-table swap with a stale member: %v", err)
	}
	if _, err := s.LoadTable(ctx, other); ice.ErrorCode(err) != ice.ENOTFOUND {
		t.Fatalf("a failed multi-table swap created a table: %v", err)
	}
}

func TestNamespaceRules(t *testing.T) {
	ctx := context.Background()
	s := etcd.NewStore(newClient(t), "default")
	if err := s.CreateNamespace(ctx, ice.Namespace{"x", "y"}, nil); ice.ErrorCode(err) != ice.ENOTFOUND {
		t.Errorf("create under a missing parent: %v", err)
	}
	must(t, s.CreateNamespace(ctx, ice.Namespace{"x"}, nil))
	if err := s.CreateNamespace(ctx, ice.Namespace{"x"}, nil); ice.ErrorCode(err) != ice.EEXISTS {
		t.Errorf("duplicate create: %v", err)
	}
	must(t, s.CreateNamespace(ctx, ice.Namespace{"x", "y"}, nil))
	if err := s.DropNamespace(ctx, ice.Namespace{"x"}); ice.ErrorCode(err) != ice.ENOTEMPTY {
		t.Errorf("drop with a child namespace: %v", err)
	}
	must(t, s.SwapTables(ctx, []ice.TableSwap{{ID: ice.TableIdent{Namespace: ice.Namespace{"x", "y"}, Name: "t"}, NewLocation: "file:///t"}}, nil))
	if err := s.DropNamespace(ctx, ice.Namespace{"x", "y"}); ice.ErrorCode(err) != ice.ENOTEMPTY {
		t.Errorf("drop with a table: %v", err)
	}
	if err := s.DropNamespace(ctx, ice.Namespace{"nope"}); ice.ErrorCode(err) != ice.ENOTFOUND {
		t.Errorf("drop missing: %v", err)
	}
	// A namespace whose name extends another's ("x" vs "xx") is not its child.
	must(t, s.CreateNamespace(ctx, ice.Namespace{"xx"}, nil))
	must(t, s.DropNamespace(ctx, ice.Namespace{"xx"}))
}

func TestListPagination(t *testing.T) {
	ctx := context.Background()
	s := etcd.NewStore(newClient(t), "default")
	must(t, s.CreateNamespace(ctx, ice.Namespace{"p"}, nil))
	must(t, s.CreateNamespace(ctx, ice.Namespace{"p", "deep"}, nil))
	for i := 0; i < 25; i++ {
		id := ice.TableIdent{Namespace: ice.Namespace{"p"}, Name: fmt.Sprintf("t%02d", i)}
		must(t, s.SwapTables(ctx, []ice.TableSwap{{ID: id, NewLocation: "file:///x"}}, nil))
	}
	// A table of the child namespace must not show up in p's listing.
	must(t, s.SwapTables(ctx, []ice.TableSwap{{ID: ice.TableIdent{Namespace: ice.Namespace{"p", "deep"}, Name: "hidden"}, NewLocation: "file:///x"}}, nil))
	var all []string
	page := ice.Page{Size: 10}
	for pages := 0; ; pages++ {
		ids, next, err := s.ListTables(ctx, ice.Namespace{"p"}, page)
		must(t, err)
		for _, id := range ids {
			all = append(all, id.Name)
		}
		if next == "" {
			if pages != 2 {
				t.Errorf("took %d extra pages, want 2", pages)
			}
			break
		}
		page.Token = next
	}
	if len(all) != 25 || all[0] != "t00" || all[24] != "t24" {
		t.Errorf("paged listing = %v", all)
	}
	if _, _, err := s.ListTables(ctx, ice.Namespace{"p"}, ice.Page{Token: "!!"}); ice.ErrorCode(err) != ice.EINVALID {
		t.Errorf("bad token: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestLoadTableReadsItsOwnWritesUnderBatching: concurrent loads of one
// table share etcd reads, yet a load always sees every commit that
// completed before it was made.
func TestLoadTableReadsItsOwnWritesUnderBatching(t *testing.T) {
	ctx := context.Background()
	s := etcd.NewStore(newClient(t), "default")
	must(t, s.CreateNamespace(ctx, ice.Namespace{"db"}, nil))
	id := ice.TableIdent{Namespace: ice.Namespace{"db"}, Name: "t"}
	must(t, s.SwapTables(ctx, []ice.TableSwap{{ID: id, NewLocation: "file:///w/0.metadata.json"}}, nil))
	base, err := s.LoadTable(ctx, id)
	must(t, err)
	var committed atomic.Int64 // the revision of the last acknowledged commit
	committed.Store(base.Revision)
	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		for i := 1; ; i++ {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			if err := s.SwapTables(ctx, []ice.TableSwap{{ID: id, Base: base, NewLocation: fmt.Sprintf("file:///w/%d.metadata.json", i)}}, nil); err != nil {
				writerDone <- err
				return
			}
			cur, err := s.LoadTable(ctx, id)
			if err != nil {
				writerDone <- err
				return
			}
			base = cur
			committed.Store(cur.Revision)
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				before := committed.Load()
				p, err := s.LoadTable(ctx, id)
				if err != nil {
					errs <- err
					return
				}
				if p.Revision < before {
					errs <- fmt.Errorf("a load saw revision %d after the commit at %d was acknowledged", p.Revision, before)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	must(t, <-writerDone)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
