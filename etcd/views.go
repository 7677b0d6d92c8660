package etcd

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"

	ice "github.com/ice-rest-catalog/ice"
)

// Views live under v/ as tables live under t/, with the same value shape
// (view_type instead of table_type). A view and a table never share an
// identifier: every create or rename of one compares the other's key to
// CreateRevision 0 in the same transaction, so two concurrent creates of a
// table and a view of one name cannot both succeed.

func (s *Store) LoadView(ctx context.Context, id ice.TableIdent) (ice.ViewPointer, error) {
	resp, err := s.cli.Get(ctx, s.keys.view(id))
	if err != nil {
		return ice.ViewPointer{}, readError("load view", err)
	}
	if len(resp.Kvs) == 0 {
		return ice.ViewPointer{}, ice.NoSuchView(id) // as LoadTable: in a missing namespace too
	}
	return decodePointer(resp.Kvs[0].Value, resp.Kvs[0].ModRevision)
}

func (s *Store) ListViews(ctx context.Context, ns ice.Namespace, page ice.Page) ([]ice.TableIdent, string, error) {
	if ok, err := s.NamespaceExists(ctx, ns); err != nil {
		return nil, "", err
	} else if !ok {
		return nil, "", ice.NoSuchNamespace(ns)
	}
	names, next, err := s.listChildren(ctx, s.keys.viewsIn(ns), page)
	if err != nil {
		return nil, "", err
	}
	out := make([]ice.TableIdent, len(names))
	for i, n := range names {
		out[i] = ice.TableIdent{Namespace: ns, Name: n}
	}
	return out, next, nil
}

func (s *Store) SwapView(ctx context.Context, sw ice.ViewSwap) error {
	key := s.keys.view(sw.ID)
	var cmps []clientv3.Cmp
	if sw.Base.Revision == 0 {
		cmps = []clientv3.Cmp{
			clientv3.Compare(clientv3.CreateRevision(key), "=", 0),
			clientv3.Compare(clientv3.CreateRevision(s.keys.table(sw.ID)), "=", 0),
			clientv3.Compare(clientv3.CreateRevision(s.keys.namespace(sw.ID.Namespace)), ">", 0),
		}
	} else {
		cmps = []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", sw.Base.Revision)}
	}
	ic, ops, err := s.indexOps(key, sw)
	if err != nil {
		return err
	}
	cmps = append(cmps, ic...)
	ops = append(ops, clientv3.OpPut(key, encodeEntry(attrViewType, sw)))
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(s.withAudit(ctx, ops...)...).Commit()
	if err != nil {
		return writeError("commit view", err)
	}
	if resp.Succeeded {
		return nil
	}
	if sw.Base.Revision == 0 {
		// The create failed: say which of its conditions did not hold.
		if err := s.identifierTaken(ctx, sw.ID); err != nil {
			return err
		}
	}
	if sw.ClaimLocation != "" && sw.ClaimLocation != sw.Base.Attrs[attrLocationKey] {
		if err := s.locationTaken(ctx, sw.ID, sw.ClaimLocation, sw.Base.Attrs[attrLocationKey]); err != nil {
			return err
		}
	}
	if sw.Base.Revision != 0 {
		return ice.CommitFailed("a concurrent commit changed the view first")
	}
	return ice.CommitFailed("view %s changed concurrently; retry", sw.ID)
}

// identifierTaken explains why an entry could not be created at id: a
// missing namespace, or a view or table already there. It returns nil when
// none of these holds any more (the conflicting entry went away meanwhile).
func (s *Store) identifierTaken(ctx context.Context, id ice.TableIdent) error {
	if ok, err := s.NamespaceExists(ctx, id.Namespace); err != nil {
		return err
	} else if !ok {
		return ice.NoSuchNamespace(id.Namespace)
	}
	if err := s.viewExistsError(ctx, id); err != nil {
		return err
	}
	resp, err := s.cli.Get(ctx, s.keys.table(id), clientv3.WithCountOnly())
	if err != nil {
		return readError("check table", err)
	}
	if resp.Count > 0 {
		return ice.AlreadyExists("Table with same name already exists: %s", id)
	}
	return nil
}

// viewExistsError returns AlreadyExists when a view holds id, else nil.
func (s *Store) viewExistsError(ctx context.Context, id ice.TableIdent) error {
	resp, err := s.cli.Get(ctx, s.keys.view(id), clientv3.WithCountOnly())
	if err != nil {
		return readError("check view", err)
	}
	if resp.Count > 0 {
		return ice.AlreadyExists("View with same name already exists: %s", id)
	}
	return nil
}

// viewInTheWay tells, after a failed SwapTables, whether a table create was
// refused because its namespace is missing (NoSuchNamespace: a commit with
// assert-create reaches the swap without a namespace check of its own) or
// because a view holds its identifier (AlreadyExists); a retry can fix
// neither, unlike a lost race. A failed read falls back to the generic
// conflict (nil): the swap certainly failed either way.
func (s *Store) viewInTheWay(ctx context.Context, swaps []ice.TableSwap) error {
	for _, sw := range swaps {
		if sw.Base.Revision != 0 {
			continue
		}
		if ok, err := s.NamespaceExists(ctx, sw.ID.Namespace); err == nil && !ok {
			return ice.NoSuchNamespace(sw.ID.Namespace)
		}
		if err := s.viewExistsError(ctx, sw.ID); ice.ErrorCode(err) == ice.EEXISTS {
			return err
		}
	}
	return nil
}

func (s *Store) DropView(ctx context.Context, id ice.TableIdent, base ice.ViewPointer) error {
	key := s.keys.view(id)
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", base.Revision)).
		Then(s.withAudit(ctx, append(s.releaseOps(base.Attrs), clientv3.OpDelete(key))...)...).Commit()
	if err != nil {
		return writeError("drop view", err)
	}
	if !resp.Succeeded {
		return ice.Errorf(ice.ECONFLICT, "view %s changed concurrently", id)
	}
	return nil
}

func (s *Store) RenameView(ctx context.Context, from, to ice.TableIdent) error {
	return s.rename(ctx, "view", s.keys.view(from), s.keys.view(to), s.keys.table(to), to,
		func() error { return ice.NoSuchView(from) })
}
