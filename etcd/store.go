package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ice "github.com/ice-rest-catalog/ice"
)

// listBatch is how many keys one range request of a listing fetches; it
// bounds the memory a listing holds however large the catalog.
const listBatch = 1000

// Store implements ice.Store on etcd.
type Store struct {
	cli  *clientv3.Client
	keys keys
	// Idempotency-Key records (idempotency.go).
	claims       claimSession
	recordLeases recordLeases
	// entryReads batches concurrent reads of one table's or view's entry
	// (batch.go).
	entryReads *readBatcher[ice.TablePointer]
}

var _ ice.Store = (*Store)(nil)

// NewStore returns the Store of the catalog named catalogName.
func NewStore(cli *clientv3.Client, catalogName string) *Store {
	return &Store{cli: cli, keys: newKeys(catalogName), entryReads: newReadBatcher[ice.TablePointer]()}
}

// Client returns the etcd client, for health checks.
func (s *Store) Client() *clientv3.Client { return s.cli }

func (s *Store) CreateNamespace(ctx context.Context, ns ice.Namespace, props map[string]string) error {
	key := s.keys.namespace(ns)
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(key), "=", 0)}
	if parent := ns.Parent(); len(parent) > 0 {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(s.keys.namespace(parent)), ">", 0))
	}
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(s.withAudit(ctx, clientv3.OpPut(key, encodeProps(props)))...).Commit()
	if err != nil {
		return writeError("create namespace", err)
	}
	if resp.Succeeded {
		return nil
	}
	if exists, err := s.NamespaceExists(ctx, ns); err != nil {
		return err
	} else if exists {
		return ice.AlreadyExists("Namespace already exists: %s", ns)
	}
	return ice.NoSuchNamespace(ns.Parent())
}

func (s *Store) LoadNamespace(ctx context.Context, ns ice.Namespace) (ice.NamespaceEntry, error) {
	resp, err := s.cli.Get(ctx, s.keys.namespace(ns))
	if err != nil {
		return ice.NamespaceEntry{}, readError("load namespace", err)
	}
	if len(resp.Kvs) == 0 {
		return ice.NamespaceEntry{}, ice.NoSuchNamespace(ns)
	}
	props, err := decodeProps(resp.Kvs[0].Value)
	if err != nil {
		return ice.NamespaceEntry{}, err
	}
	return ice.NamespaceEntry{Properties: props, Revision: resp.Kvs[0].ModRevision}, nil
}

func (s *Store) NamespaceExists(ctx context.Context, ns ice.Namespace) (bool, error) {
	resp, err := s.cli.Get(ctx, s.keys.namespace(ns), clientv3.WithCountOnly())
	if err != nil {
		return false, readError("check namespace", err)
	}
	return resp.Count > 0, nil
}

func (s *Store) ListNamespaces(ctx context.Context, parent ice.Namespace, page ice.Page) ([]ice.Namespace, string, error) {
	if len(parent) > 0 {
		if ok, err := s.NamespaceExists(ctx, parent); err != nil {
			return nil, "", err
		} else if !ok {
			return nil, "", ice.NoSuchNamespace(parent)
		}
	}
	names, next, err := s.listChildren(ctx, s.keys.namespaceChildren(parent), page)
	if err != nil {
		return nil, "", err
	}
	out := make([]ice.Namespace, len(names))
	for i, n := range names {
		out[i] = append(append(ice.Namespace{}, parent...), n)
	}
	return out, next, nil
}

func (s *Store) ReplaceNamespaceProperties(ctx context.Context, ns ice.Namespace, props map[string]string, revision int64) error {
	key := s.keys.namespace(ns)
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", revision)).
		Then(s.withAudit(ctx, clientv3.OpPut(key, encodeProps(props)))...).Commit()
	if err != nil {
		return writeError("update namespace properties", err)
	}
	if !resp.Succeeded {
		return ice.Conflict("namespace %s changed concurrently", ns)
	}
	return nil
}

func (s *Store) DropNamespace(ctx context.Context, ns ice.Namespace) error {
	key := s.keys.namespace(ns)
	// One transaction checks that the namespace exists and that nothing lives
	// under it, so a table created concurrently cannot be orphaned.
	resp, err := s.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.CreateRevision(key), ">", 0),
		clientv3.Compare(clientv3.CreateRevision(s.keys.namespaceChildren(ns)), "=", 0).WithPrefix(),
		clientv3.Compare(clientv3.CreateRevision(s.keys.entriesIn(tableKind, ns)), "=", 0).WithPrefix(),
		clientv3.Compare(clientv3.CreateRevision(s.keys.entriesIn(viewKind, ns)), "=", 0).WithPrefix(),
	).Then(s.withAudit(ctx, clientv3.OpDelete(key))...).Commit()
	if err != nil {
		return writeError("drop namespace", err)
	}
	if resp.Succeeded {
		return nil
	}
	if ok, err := s.NamespaceExists(ctx, ns); err != nil {
		return err
	} else if !ok {
		return ice.NoSuchNamespace(ns)
	}
	return ice.NotEmpty("Namespace %s is not empty: it still holds tables, views or namespaces", ns)
}

// Tables and views share one path below: each Store method of a kind is
// the kind-parameterised method for it.

func (s *Store) LoadTable(ctx context.Context, id ice.TableIdent) (ice.TablePointer, error) {
	return s.load(ctx, tableKind, id)
}

func (s *Store) LoadView(ctx context.Context, id ice.TableIdent) (ice.ViewPointer, error) {
	return s.load(ctx, viewKind, id)
}

func (s *Store) ListTables(ctx context.Context, ns ice.Namespace, page ice.Page) ([]ice.TableIdent, string, error) {
	return s.list(ctx, tableKind, ns, page)
}

func (s *Store) ListViews(ctx context.Context, ns ice.Namespace, page ice.Page) ([]ice.TableIdent, string, error) {
	return s.list(ctx, viewKind, ns, page)
}

func (s *Store) DropTable(ctx context.Context, id ice.TableIdent, base ice.TablePointer) error {
	return s.drop(ctx, tableKind, id, base)
}

func (s *Store) DropView(ctx context.Context, id ice.TableIdent, base ice.ViewPointer) error {
	return s.drop(ctx, viewKind, id, base)
}

func (s *Store) RenameTable(ctx context.Context, from, to ice.TableIdent) error {
	return s.rename(ctx, tableKind, from, to)
}

func (s *Store) RenameView(ctx context.Context, from, to ice.TableIdent) error {
	return s.rename(ctx, viewKind, from, to)
}

func (s *Store) SwapTables(ctx context.Context, swaps []ice.TableSwap, claim *ice.IdempotencyClaim) error {
	cmps := make([]clientv3.Cmp, 0, len(swaps)*2)
	ops := make([]clientv3.Op, 0, len(swaps))
	for _, sw := range swaps {
		c, o, err := s.swapOps(tableKind, sw)
		if err != nil {
			return err
		}
		cmps, ops = append(cmps, c...), append(ops, o...)
	}
	var (
		lease   clientv3.LeaseID
		elseOps []clientv3.Op
	)
	if claim != nil {
		// The outcome of a keyed commit is recorded in this same Txn, so
		// a retry of a commit whose answer was lost replays it instead of
		// applying it twice.
		cmp, put, l, err := s.settle(ctx, claim, swaps)
		if err != nil {
			return err
		}
		cmps, ops, lease = append(cmps, cmp), append(ops, put), l
		elseOps = append(elseOps, clientv3.OpGet(s.keys.idempotency(claim.Key), clientv3.WithKeysOnly()))
	}
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(s.withAudit(ctx, ops...)...).Else(elseOps...).Commit()
	if err != nil {
		if claim != nil && errors.Is(err, rpctypes.ErrLeaseNotFound) {
			s.forgetLease(lease)
		}
		return writeError("commit", err)
	}
	if !resp.Succeeded {
		if claim != nil {
			if err := claimLost(resp, claim); err != nil {
				return err
			}
		}
		return s.swapRefused(ctx, tableKind, swaps)
	}
	return nil
}

// SwapView creates (zero Base.Revision) or repoints one view, as SwapTables
// does a table.
func (s *Store) SwapView(ctx context.Context, sw ice.ViewSwap) error {
	cmps, ops, err := s.swapOps(viewKind, sw)
	if err != nil {
		return err
	}
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(s.withAudit(ctx, ops...)...).Commit()
	if err != nil {
		return writeError("commit view", err)
	}
	if !resp.Succeeded {
		return s.swapRefused(ctx, viewKind, []ice.TableSwap{sw})
	}
	return nil
}

// load reads id's entry of kind k. Concurrent reads of one entry share one
// read and its decoded pointer, whose Attrs are only ever read.
func (s *Store) load(ctx context.Context, k kind, id ice.TableIdent) (ice.TablePointer, error) {
	key := s.keys.entry(k, id)
	return s.entryReads.read(ctx, key, func(ctx context.Context) (ice.TablePointer, error) {
		resp, err := s.cli.Get(ctx, key)
		if err != nil {
			return ice.TablePointer{}, readError("load "+k.String(), err)
		}
		if len(resp.Kvs) == 0 {
			// Also in a missing namespace: what the client asked for is a
			// table (or view), and Iceberg's clients and reference catalog
			// answer NoSuchTableException for it (a client seeing
			// NoSuchNamespaceException from loadTable raises that instead
			// of "table not found").
			return ice.TablePointer{}, k.noSuch(id)
		}
		return decodePointer(resp.Kvs[0].Value, resp.Kvs[0].ModRevision)
	})
}

// list lists ns's entries of kind k.
func (s *Store) list(ctx context.Context, k kind, ns ice.Namespace, page ice.Page) ([]ice.TableIdent, string, error) {
	if ok, err := s.NamespaceExists(ctx, ns); err != nil {
		return nil, "", err
	} else if !ok {
		return nil, "", ice.NoSuchNamespace(ns)
	}
	names, next, err := s.listChildren(ctx, s.keys.entriesIn(k, ns), page)
	if err != nil {
		return nil, "", err
	}
	out := make([]ice.TableIdent, len(names))
	for i, n := range names {
		out[i] = ice.TableIdent{Namespace: ns, Name: n}
	}
	return out, next, nil
}

// swapOps are the comparisons and operations of one entry's swap. A create
// (zero Base.Revision) requires the key free for both kinds and the
// namespace present, so two concurrent creates of a table and a view of one
// name cannot both succeed; any other swap requires the base's revision.
func (s *Store) swapOps(k kind, sw ice.TableSwap) ([]clientv3.Cmp, []clientv3.Op, error) {
	key := s.keys.entry(k, sw.ID)
	var cmps []clientv3.Cmp
	if sw.Base.Revision == 0 {
		cmps = []clientv3.Cmp{
			clientv3.Compare(clientv3.CreateRevision(key), "=", 0),
			clientv3.Compare(clientv3.CreateRevision(s.keys.entry(k.other(), sw.ID)), "=", 0),
			clientv3.Compare(clientv3.CreateRevision(s.keys.namespace(sw.ID.Namespace)), ">", 0),
		}
	} else {
		cmps = []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", sw.Base.Revision)}
	}
	ic, ops, err := s.indexOps(key, sw)
	if err != nil {
		return nil, nil, err
	}
	return append(cmps, ic...), append(ops, clientv3.OpPut(key, encodeEntry(k.typeKey(), sw))), nil
}

// swapRefused explains a refused swap. What a retry cannot fix comes first:
// a create whose namespace is missing (a commit with assert-create reaches
// the swap without a namespace check of its own) or whose identifier an
// entry holds (kind.refusesCreate), a location another entry claims. Else
// a concurrent commit won: CommitFailed. A failed read while explaining
// falls back to CommitFailed too: the swap certainly failed either way.
func (s *Store) swapRefused(ctx context.Context, k kind, swaps []ice.TableSwap) error {
	for _, sw := range swaps {
		if sw.Base.Revision != 0 {
			continue
		}
		switch err := s.identifierTaken(ctx, sw.ID, k.refusesCreate()...); ice.ErrorCode(err) {
		case ice.ENOTFOUND, ice.EEXISTS:
			return err
		}
	}
	for _, sw := range swaps {
		if sw.ClaimLocation != "" && sw.ClaimLocation != sw.Base.Attrs[attrLocationKey] {
			if err := s.locationTaken(ctx, sw.ID, sw.ClaimLocation, sw.Base.Attrs[attrLocationKey]); err != nil {
				return err
			}
		}
	}
	return ice.CommitFailed("a concurrent commit changed the %s first", k)
}

// identifierTaken explains why an entry could not be created at id: a
// missing namespace, or an entry of one of kinds already there. It returns
// nil when none of these holds any more (the conflicting entry went away
// meanwhile).
func (s *Store) identifierTaken(ctx context.Context, id ice.TableIdent, kinds ...kind) error {
	if ok, err := s.NamespaceExists(ctx, id.Namespace); err != nil {
		return err
	} else if !ok {
		return ice.NoSuchNamespace(id.Namespace)
	}
	for _, k := range kinds {
		resp, err := s.cli.Get(ctx, s.keys.entry(k, id), clientv3.WithCountOnly())
		if err != nil {
			return readError("check "+k.String(), err)
		}
		if resp.Count > 0 {
			return k.exists(id)
		}
	}
	return nil
}

// drop deletes id's entry of kind k, and its location claim, if it is still
// at base's revision.
func (s *Store) drop(ctx context.Context, k kind, id ice.TableIdent, base ice.TablePointer) error {
	key := s.keys.entry(k, id)
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", base.Revision)).
		Then(s.withAudit(ctx, append(s.releaseOps(base.Attrs), clientv3.OpDelete(key))...)...).Commit()
	if err != nil {
		return writeError("drop "+k.String(), err)
	}
	if !resp.Succeeded {
		return ice.Conflict("%s %s changed concurrently", k, id)
	}
	return nil
}

// rename moves a table's or a view's entry in one transaction that checks the
// source is unchanged, the destination is free for both kinds and its
// namespace exists. A commit may land on the source between our read and the
// transaction; it retries a few times with the fresh entry so the rename
// carries it.
func (s *Store) rename(ctx context.Context, k kind, from, to ice.TableIdent) error {
	fromKey, toKey := s.keys.entry(k, from), s.keys.entry(k, to)
	for attempt := 0; attempt < 5; attempt++ {
		resp, err := s.cli.Get(ctx, fromKey)
		if err != nil {
			return readError("rename "+k.String(), err)
		}
		if len(resp.Kvs) == 0 {
			return k.noSuch(from)
		}
		src := resp.Kvs[0]
		moveIndex, err := s.renameOps(src.Value, toKey)
		if err != nil {
			return err
		}
		txn, err := s.cli.Txn(ctx).If(
			clientv3.Compare(clientv3.ModRevision(fromKey), "=", src.ModRevision),
			clientv3.Compare(clientv3.CreateRevision(toKey), "=", 0),
			clientv3.Compare(clientv3.CreateRevision(s.keys.entry(k.other(), to)), "=", 0),
			clientv3.Compare(clientv3.CreateRevision(s.keys.namespace(to.Namespace)), ">", 0),
		).Then(s.withAudit(ctx, append(moveIndex, clientv3.OpDelete(fromKey), clientv3.OpPut(toKey, string(src.Value)))...)...).Commit()
		if err != nil {
			return writeError("rename "+k.String(), err)
		}
		if txn.Succeeded {
			return nil
		}
		if err := s.identifierTaken(ctx, to, viewKind, tableKind); err != nil {
			return err
		}
	}
	return ice.Conflict("%s kept changing during the rename; retry", strings.TrimPrefix(fromKey, s.keys.prefix))
}

// listChildren pages through the keys under prefix and returns the names of
// the direct children: keys with no further "/". The page token is the last
// name returned, so a page resumes right after it even if keys were added or
// removed in between.
func (s *Store) listChildren(ctx context.Context, prefix string, page ice.Page) ([]string, string, error) {
	start := prefix
	if page.Token != "" {
		last, err := decodePageToken(prefix, page.Token)
		if err != nil {
			return nil, "", err
		}
		start = prefix + last + "\x00"
	}
	end := clientv3.GetPrefixRangeEnd(prefix)
	var names []string
	for {
		resp, err := s.cli.Get(ctx, start, clientv3.WithRange(end), clientv3.WithKeysOnly(),
			clientv3.WithLimit(listBatch), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
		if err != nil {
			return nil, "", readError("list", err)
		}
		for _, kv := range resp.Kvs {
			name := strings.TrimPrefix(string(kv.Key), prefix)
			if name == "" || strings.Contains(name, "/") {
				continue
			}
			names = append(names, name)
			if page.Size > 0 && len(names) == page.Size {
				return names, encodePageToken(prefix, name), nil
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return names, "", nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// readError classifies a failed read: nothing changed, so the client may
// simply retry.
func readError(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return ice.Unavailable("the catalog store is unavailable; retry later", fmt.Errorf("etcd %s: %w", op, err))
}

// writeError classifies a failed write. etcd rejects some requests before
// applying anything; for every other failure (timeouts, lost connections)
// the write may or may not have been applied.
func writeError(op string, err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrTooManyOps):
		return ice.Errorf(ice.EINVALID, "%s touches more keys than etcd allows in one transaction (etcd --max-txn-ops, default 128); raise it on every etcd member or split the request", op)
	case errors.Is(err, rpctypes.ErrRequestTooLarge), status.Code(err) == codes.ResourceExhausted:
		// etcd's --max-request-bytes, or the client's own bound on what
		// it sends: either way nothing was sent or applied.
		return ice.Errorf(ice.ETOOLARGE, "%s is larger than etcd accepts in one request (etcd --max-request-bytes)", op)
	case errors.Is(err, rpctypes.ErrLeaseNotFound): // rejected before applying anything
		return ice.Unavailable(op+": a lease it used is gone; retry", err)
	case errors.Is(err, rpctypes.ErrNoSpace):
		return ice.Unavailable("the catalog store is out of space (etcd alarm NOSPACE)", err)
	}
	return ice.UnknownState(op+": the catalog store did not confirm the write; it may or may not have been applied", fmt.Errorf("etcd %s: %w", op, err))
}
