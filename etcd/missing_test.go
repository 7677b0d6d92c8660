package etcd_test

import (
	"context"
	"testing"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/etcd"
)

// TestMissingNamespaceErrors: what is asked for decides the error type. A
// load, drop or rename of a table or view in a missing namespace finds no
// table or view (as Iceberg's reference catalog answers); a create there
// finds no namespace.
func TestMissingNamespaceErrors(t *testing.T) {
	ctx := context.Background()
	s := etcd.NewStore(newClient(t), "default")
	id := ice.TableIdent{Namespace: ice.Namespace{"nope"}, Name: "x"}
	to := ice.TableIdent{Namespace: ice.Namespace{"nope"}, Name: "y"}

	_, err := s.LoadTable(ctx, id)
	wantErrType(t, "load a table", err, ice.ENOTFOUND, "NoSuchTableException")
	_, err = s.LoadView(ctx, id)
	wantErrType(t, "load a view", err, ice.ENOTFOUND, "NoSuchViewException")
	wantErrType(t, "rename a table", s.RenameTable(ctx, id, to), ice.ENOTFOUND, "NoSuchTableException")
	wantErrType(t, "rename a view", s.RenameView(ctx, id, to), ice.ENOTFOUND, "NoSuchViewException")

	wantErrType(t, "create a table", s.SwapTables(ctx, []ice.TableSwap{{ID: id, NewLocation: "x"}}, nil), ice.ENOTFOUND, "NoSuchNamespaceException")
	wantErrType(t, "create a view", s.SwapView(ctx, ice.ViewSwap{ID: id, NewLocation: "x"}), ice.ENOTFOUND, "NoSuchNamespaceException")
}
