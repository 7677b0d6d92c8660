package etcd

import (
	"context"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	ice "github.com/ice-rest-catalog/ice"
)

// The location index: one key per table or view location,
// "<prefix>loc/<Location.Key()>", whose value names the owner ("t/<ns>/<name>"
// or "v/<ns>/<name>", its entry key without the catalog prefix). The entry
// itself names its index key in the attribute attrLocationKey, so a drop or a
// rename finds it without reading metadata. An index key is put and deleted
// in the same transaction as the entry it belongs to, and a claim compares
// every ancestor key and the whole range below it, so two overlapping
// locations can never both be indexed, whatever the concurrency.
//
// Entries without the attribute (tables the Java server created, or this
// server before the index existed) have no index key; IndexLocation adds
// one (see service.BackfillLocations).
const attrLocationKey = "ice_location_key"

func (k keys) location(locKey string) string { return k.prefix + "loc/" + locKey }

// claimCmps are the conditions for claiming locKey: no indexed location at
// or above it, none below it; release (the claim being given up in the same
// transaction, "" for none) does not count.
func (s *Store) claimCmps(locKey, release string) ([]clientv3.Cmp, error) {
	l, err := ice.ParseLocation(locKey)
	if err != nil {
		return nil, err
	}
	var cmps []clientv3.Cmp
	for _, a := range l.Ancestors() {
		if a != release {
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(s.keys.location(a)), "=", 0))
		}
	}
	from, end := s.keys.location(locKey), clientv3.GetPrefixRangeEnd(s.keys.location(locKey))
	rel := s.keys.location(release)
	if release != "" && strings.HasPrefix(rel, from) {
		// Moving to a location above the current one: the range below
		// it holds the current claim, which this transaction deletes.
		cmps = append(cmps,
			clientv3.Compare(clientv3.CreateRevision(from).WithRange(rel), "=", 0),
			clientv3.Compare(clientv3.CreateRevision(rel+"\x00").WithRange(end), "=", 0))
	} else {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(from).WithRange(end), "=", 0))
	}
	return cmps, nil
}

// indexOps are the conditions and the puts and deletes of index keys for
// one entry's swap; encodeEntry sets the entry's attribute.
func (s *Store) indexOps(ownerKey string, sw ice.TableSwap) (cmps []clientv3.Cmp, ops []clientv3.Op, err error) {
	if sw.ClaimLocation == "" {
		return nil, nil, nil
	}
	release := sw.Base.Attrs[attrLocationKey]
	if release == sw.ClaimLocation {
		return nil, nil, nil
	}
	cmps, err = s.claimCmps(sw.ClaimLocation, release)
	if err != nil {
		return nil, nil, err
	}
	if release != "" {
		ops = append(ops, clientv3.OpDelete(s.keys.location(release)))
	}
	ops = append(ops, clientv3.OpPut(s.keys.location(sw.ClaimLocation), strings.TrimPrefix(ownerKey, s.keys.prefix)))
	return cmps, ops, nil
}

// locationTaken explains a failed claim: which indexed location overlaps
// locKey. It returns nil when none does (the claim failed for another
// reason, or the overlapping entry went away meanwhile).
func (s *Store) locationTaken(ctx context.Context, id ice.TableIdent, locKey, release string) error {
	l, err := ice.ParseLocation(locKey)
	if err != nil {
		return err
	}
	own := map[string]bool{
		strings.TrimPrefix(s.keys.table(id), s.keys.prefix): true,
		strings.TrimPrefix(s.keys.view(id), s.keys.prefix):  true,
	}
	taken := func(owner, at string) error {
		if own[owner] {
			// The same identifier: a concurrent create of it, which the
			// caller reports as such.
			return nil
		}
		return ice.Errorf(ice.EINVALID, "location %s of %s overlaps the location %s of %s; table and view locations must not overlap",
			strings.TrimSuffix(locKey, "/"), id, strings.TrimSuffix(at, "/"), ownerName(owner))
	}
	for _, a := range append(l.Ancestors(), locKey) {
		if a == release {
			continue
		}
		resp, err := s.cli.Get(ctx, s.keys.location(a))
		if err != nil {
			return readError("check location", err)
		}
		if len(resp.Kvs) > 0 {
			if err := taken(string(resp.Kvs[0].Value), a); err != nil {
				return err
			}
		}
	}
	resp, err := s.cli.Get(ctx, s.keys.location(locKey), clientv3.WithPrefix(), clientv3.WithLimit(2))
	if err != nil {
		return readError("check location", err)
	}
	for _, kv := range resp.Kvs {
		at := strings.TrimPrefix(string(kv.Key), s.keys.location(""))
		if at != release {
			if err := taken(string(kv.Value), at); err != nil {
				return err
			}
		}
	}
	return nil
}

// ownerName turns an index value back into "table a.b" or "view a.v".
func ownerName(owner string) string {
	kind, rest, _ := strings.Cut(owner, "/")
	i := strings.LastIndex(rest, "/")
	if i < 0 {
		return owner
	}
	id := ice.TableIdent{Namespace: ice.Namespace(strings.Split(rest[:i], "/")), Name: rest[i+1:]}
	if kind == "v" {
		return "view " + id.String()
	}
	return "table " + id.String()
}

// LocationOwner returns who holds the index key locKey, "" for nobody.
func (s *Store) LocationOwner(ctx context.Context, locKey string) (string, error) {
	resp, err := s.cli.Get(ctx, s.keys.location(locKey))
	if err != nil {
		return "", readError("read location index", err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return ownerName(string(resp.Kvs[0].Value)), nil
}

// IndexLocation claims locKey for the existing table (or view, with view
// true) id, if its entry is still at revision and has no claim yet: the
// backfill for entries the Java server wrote. An overlap is refused as a
// create's would be.
func (s *Store) IndexLocation(ctx context.Context, id ice.TableIdent, view bool, ptr ice.TablePointer, locKey string) error {
	k := tableKind
	if view {
		k = viewKind
	}
	key, typeKey := s.keys.entry(k, id), k.typeKey()
	if ptr.Attrs[attrLocationKey] != "" {
		return nil
	}
	sw := ice.TableSwap{ID: id, Base: ptr, ClaimLocation: locKey}
	cmps, ops, err := s.indexOps(key, sw)
	if err != nil {
		return err
	}
	entry := make(map[string]string, len(ptr.Attrs)+1)
	for k, v := range ptr.Attrs {
		entry[k] = v
	}
	entry[attrLocationKey] = locKey
	if entry[typeKey] == "" {
		entry[typeKey] = tableTypeIceberg
	}
	cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", ptr.Revision))
	ops = append(ops, clientv3.OpPut(key, encodeProps(entry)))
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return writeError("index location", err)
	}
	if resp.Succeeded {
		return nil
	}
	if err := s.locationTaken(ctx, id, locKey, ""); err != nil {
		return err
	}
	return ice.Errorf(ice.ECONFLICT, "%s changed while its location was being indexed", id)
}

// releaseOps deletes the index key an entry holds, if any.
func (s *Store) releaseOps(attrs map[string]string) []clientv3.Op {
	if k := attrs[attrLocationKey]; k != "" {
		return []clientv3.Op{clientv3.OpDelete(s.keys.location(k))}
	}
	return nil
}

// renameOps moves an index key's owner to the renamed entry.
func (s *Store) renameOps(value []byte, toKey string) ([]clientv3.Op, error) {
	attrs, err := decodeProps(value)
	if err != nil {
		return nil, fmt.Errorf("rename: %w", err)
	}
	if k := attrs[attrLocationKey]; k != "" {
		return []clientv3.Op{clientv3.OpPut(s.keys.location(k), strings.TrimPrefix(toKey, s.keys.prefix))}, nil
	}
	return nil, nil
}
