package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	ice "github.com/ice-rest-catalog/ice"
)

// The deleted area: d/<namespace levels>/<id> holds a soft-dropped table or
// view (ice.DeletedEntry as JSON). Moving an entry in or out is one Txn
// with the entry's own key, so a table is never in both places or neither.

var _ ice.DeletedStore = (*Store)(nil)

// SoftDrop deletes the entry at revision and writes its deleted record, in
// one Txn. The entry's location claim (loc/) is kept, so no new table can
// take the location until the record is purged.
func (s *Store) SoftDrop(ctx context.Context, d ice.DeletedEntry, revision int64) error {
	key := s.keys.entry(kindOf(d.Kind), d.Ident())
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode deleted entry: %w", err)
	}
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", revision),
			clientv3.Compare(clientv3.CreateRevision(s.keys.deletedEntry(d)), "=", 0)).
		Then(s.withAudit(ctx, clientv3.OpDelete(key), clientv3.OpPut(s.keys.deletedEntry(d), string(b)))...).Commit()
	if err != nil {
		return writeError("drop "+d.Kind, err)
	}
	if !resp.Succeeded {
		return ice.Errorf(ice.ECONFLICT, "%s %s changed concurrently", d.Kind, d.Ident())
	}
	return nil
}

// ListDeleted reads the deleted records under ns (every one when ns is
// nil), at one revision.
func (s *Store) ListDeleted(ctx context.Context, ns ice.Namespace) ([]ice.DeletedEntry, error) {
	prefix := s.keys.prefix + "d/"
	if len(ns) > 0 {
		prefix = s.keys.deleted(ns)
	}
	var out []ice.DeletedEntry
	var rev int64
	err := s.rangePrefix(ctx, prefix, &rev, func(key string, value []byte) error {
		rest := strings.TrimPrefix(key, prefix)
		if len(ns) > 0 && strings.Contains(rest, "/") {
			return nil // a child namespace's
		}
		var d ice.DeletedEntry
		if err := json.Unmarshal(value, &d); err != nil {
			return fmt.Errorf("decode deleted entry %q: %w", key, err)
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LoadDeleted reads one deleted record.
func (s *Store) LoadDeleted(ctx context.Context, ns ice.Namespace, id string) (ice.DeletedEntry, error) {
	resp, err := s.cli.Get(ctx, s.keys.deleted(ns)+id)
	if err != nil {
		return ice.DeletedEntry{}, readError("load deleted entry", err)
	}
	if len(resp.Kvs) == 0 {
		return ice.DeletedEntry{}, ice.NoSuchDeleted(ns, id)
	}
	var d ice.DeletedEntry
	if err := json.Unmarshal(resp.Kvs[0].Value, &d); err != nil {
		return ice.DeletedEntry{}, fmt.Errorf("decode deleted entry %s: %w", id, err)
	}
	d.Revision = resp.Kvs[0].ModRevision
	return d, nil
}

// Undrop puts the entry back under to and removes its record, in one Txn
// that requires the record unchanged, to free for tables and views, and
// to's namespace present.
func (s *Store) Undrop(ctx context.Context, d ice.DeletedEntry, to ice.TableIdent) error {
	rec := s.keys.deletedEntry(d)
	k := kindOf(d.Kind)
	key, other := s.keys.entry(k, to), s.keys.entry(k.other(), to)
	entry := encodeProps(d.Entry)
	// The entry's location claim (loc/) stayed while it was deleted; it
	// now names the restored key.
	moveIndex, err := s.renameOps([]byte(entry), key)
	if err != nil {
		return err
	}
	resp, err := s.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.ModRevision(rec), "=", d.Revision),
		clientv3.Compare(clientv3.CreateRevision(key), "=", 0),
		clientv3.Compare(clientv3.CreateRevision(other), "=", 0),
		clientv3.Compare(clientv3.CreateRevision(s.keys.namespace(to.Namespace)), ">", 0),
	).Then(s.withAudit(ctx, append(moveIndex, clientv3.OpPut(key, entry), clientv3.OpDelete(rec))...)...).Commit()
	if err != nil {
		return writeError("undrop "+d.Kind, err)
	}
	if resp.Succeeded {
		return nil
	}
	if _, err := s.LoadDeleted(ctx, d.Namespace, d.ID); err != nil {
		return err // restored or purged meanwhile
	}
	if err := s.identifierTaken(ctx, to, viewKind, tableKind); err != nil {
		return err
	}
	return ice.Conflict("deleted entry %s changed concurrently; retry", d.ID)
}

// ForgetDeleted removes the record if unchanged.
func (s *Store) ForgetDeleted(ctx context.Context, d ice.DeletedEntry) error {
	rec := s.keys.deletedEntry(d)
	// The location claim, kept while the entry could be undropped, goes
	// with the record.
	resp, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(rec), "=", d.Revision)).
		Then(s.withAudit(ctx, append(s.releaseOps(d.Entry), clientv3.OpDelete(rec))...)...).Commit()
	if err != nil {
		return writeError("purge deleted entry", err)
	}
	if !resp.Succeeded {
		return ice.Errorf(ice.ECONFLICT, "deleted entry %s changed concurrently", d.ID)
	}
	return nil
}

// ReservedLocations lists the base locations of every deleted entry of the
// catalog.
func (s *Store) ReservedLocations(ctx context.Context) ([]string, error) {
	all, err := s.ListDeleted(ctx, nil)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range all {
		if d.Location != "" {
			out = append(out, d.Location)
		}
	}
	return out, nil
}
