package etcd_test

import (
	"context"
	"fmt"
	"testing"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/etcd"
)

// TestViewKeyLayout checks where views live: v/<ns levels>/<view>, under
// the catalog's prefix, with a value in the style of a table's entry.
func TestViewKeyLayout(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ name, prefix string }{{"default", ""}, {"analytics", "analytics/"}} {
		t.Run(tc.name, func(t *testing.T) {
			cli := newClient(t)
			s := etcd.NewStore(cli, tc.name)
			must(t, s.CreateNamespace(ctx, ice.Namespace{"a"}, nil))
			must(t, s.CreateNamespace(ctx, ice.Namespace{"a", "b"}, nil))
			id := ice.TableIdent{Namespace: ice.Namespace{"a", "b"}, Name: "v-1"}
			first := "s3://w/a/b/v-1/metadata/00000-x.metadata.json"
			must(t, s.SwapView(ctx, ice.ViewSwap{ID: id, NewLocation: first}))

			entry, _ := get(t, cli, tc.prefix+"v/a/b/v-1")
			want := map[string]string{"view_type": "ICEBERG", "metadata_location": first}
			if fmt.Sprint(entry) != fmt.Sprint(want) {
				t.Errorf("new view entry = %v, want %v", entry, want)
			}

			ptr, err := s.LoadView(ctx, id)
			must(t, err)
			second := "s3://w/a/b/v-1/metadata/00001-y.metadata.json"
			must(t, s.SwapView(ctx, ice.ViewSwap{ID: id, Base: ptr, NewLocation: second}))
			entry, _ = get(t, cli, tc.prefix+"v/a/b/v-1")
			want = map[string]string{"view_type": "ICEBERG", "metadata_location": second, "previous_metadata_location": first}
			if fmt.Sprint(entry) != fmt.Sprint(want) {
				t.Errorf("replaced view entry = %v, want %v", entry, want)
			}
			if err := s.SwapView(ctx, ice.ViewSwap{ID: id, Base: ptr, NewLocation: "stale"}); ice.ErrorCode(err) != ice.ECONFLICT {
				t.Errorf("swap from a stale revision: %v, want a conflict", err)
			}

			views, _, err := s.ListViews(ctx, ice.Namespace{"a", "b"}, ice.Page{})
			must(t, err)
			if len(views) != 1 || views[0].String() != "a.b.v-1" {
				t.Errorf("ListViews = %v", views)
			}
			if tables, _, _ := s.ListTables(ctx, ice.Namespace{"a", "b"}, ice.Page{}); len(tables) != 0 {
				t.Errorf("a view is listed as a table: %v", tables)
			}
			if _, err := s.LoadTable(ctx, id); ice.ErrorCode(err) != ice.ENOTFOUND {
				t.Errorf("LoadTable of a view: %v, want not found", err)
			}
		})
	}
}

func wantErrType(t *testing.T, what string, err error, code ice.Code, typ string) {
	t.Helper()
	e, ok := err.(*ice.Error)
	if !ok || e.Code != code || e.Type != typ {
		t.Errorf("%s: %v, want %s %s", what, err, code, typ)
	}
}

// TestViewAndTableShareNoIdentifier creates and renames each kind onto the
// other's name: the transaction refuses, and the answer is AlreadyExists.
func TestViewAndTableShareNoIdentifier(t *testing.T) {
	ctx := context.Background()
	s := etcd.NewStore(newClient(t), "default")
	ns := ice.Namespace{"db"}
	must(t, s.CreateNamespace(ctx, ns, nil))
	tbl := ice.TableIdent{Namespace: ns, Name: "t"}
	vw := ice.TableIdent{Namespace: ns, Name: "v"}
	must(t, s.SwapTables(ctx, []ice.TableSwap{{ID: tbl, NewLocation: "file:///t.json"}}, nil))
	must(t, s.SwapView(ctx, ice.ViewSwap{ID: vw, NewLocation: "file:///v.json"}))

	wantErrType(t, "view over a table", s.SwapView(ctx, ice.ViewSwap{ID: tbl, NewLocation: "x"}), ice.EEXISTS, "AlreadyExistsException")
	wantErrType(t, "table over a view", s.SwapTables(ctx, []ice.TableSwap{{ID: vw, NewLocation: "x"}}, nil), ice.EEXISTS, "AlreadyExistsException")
	wantErrType(t, "view over a view", s.SwapView(ctx, ice.ViewSwap{ID: vw, NewLocation: "x"}), ice.EEXISTS, "AlreadyExistsException")
	wantErrType(t, "rename a view onto a table", s.RenameView(ctx, vw, tbl), ice.EEXISTS, "AlreadyExistsException")
	wantErrType(t, "rename a table onto a view", s.RenameTable(ctx, tbl, vw), ice.EEXISTS, "AlreadyExistsException")
	wantErrType(t, "view in a missing namespace", s.SwapView(ctx, ice.ViewSwap{ID: ice.TableIdent{Namespace: ice.Namespace{"nope"}, Name: "v"}, NewLocation: "x"}),
		ice.ENOTFOUND, "NoSuchNamespaceException")
	wantErrType(t, "rename a missing view", s.RenameView(ctx, ice.TableIdent{Namespace: ns, Name: "gone"}, ice.TableIdent{Namespace: ns, Name: "w"}),
		ice.ENOTFOUND, "NoSuchViewException")
	wantErrType(t, "load a missing view", func() error { _, err := s.LoadView(ctx, tbl); return err }(), ice.ENOTFOUND, "NoSuchViewException")

	// Nothing was overwritten by the refused writes.
	if p, _ := s.LoadTable(ctx, tbl); p.MetadataLocation != "file:///t.json" {
		t.Errorf("table now points at %q", p.MetadataLocation)
	}
	if p, _ := s.LoadView(ctx, vw); p.MetadataLocation != "file:///v.json" {
		t.Errorf("view now points at %q", p.MetadataLocation)
	}

	// Across namespaces, onto a free name, a rename moves the entry.
	must(t, s.CreateNamespace(ctx, ice.Namespace{"db", "inner"}, nil))
	moved := ice.TableIdent{Namespace: ice.Namespace{"db", "inner"}, Name: "v2"}
	must(t, s.RenameView(ctx, vw, moved))
	if p, err := s.LoadView(ctx, moved); err != nil || p.MetadataLocation != "file:///v.json" {
		t.Errorf("renamed view: %+v, %v", p, err)
	}
	if _, err := s.LoadView(ctx, vw); ice.ErrorCode(err) != ice.ENOTFOUND {
		t.Errorf("old view name still loads: %v", err)
	}
}

// TestDropNamespaceWithAView refuses to drop a namespace that holds only a
// view, and drops it once the view is gone.
func TestDropNamespaceWithAView(t *testing.T) {
	ctx := context.Background()
	s := etcd.NewStore(newClient(t), "default")
	ns := ice.Namespace{"db"}
	must(t, s.CreateNamespace(ctx, ns, nil))
	id := ice.TableIdent{Namespace: ns, Name: "v"}
	must(t, s.SwapView(ctx, ice.ViewSwap{ID: id, NewLocation: "file:///v.json"}))
	wantErrType(t, "drop a namespace holding a view", s.DropNamespace(ctx, ns), ice.ENOTEMPTY, "NamespaceNotEmptyException")
	p, err := s.LoadView(ctx, id)
	must(t, err)
	must(t, s.DropView(ctx, id, p))
	must(t, s.DropNamespace(ctx, ns))
}
