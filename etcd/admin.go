package etcd

import (
	"context"
	"maps"
	"sort"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	ice "github.com/ice-rest-catalog/ice"
)

var _ ice.CatalogAdmin = (*Store)(nil)

// ExportCatalog reads the catalog's n/ and t/ entries at one revision, in
// pages, so a large catalog neither loads etcd with one huge range nor mixes
// two states. Views (v/) are not part of the Java server's format.
func (s *Store) ExportCatalog(ctx context.Context, ns ice.Namespace) (*ice.CatalogSnapshot, error) {
	name := strings.TrimSuffix(s.keys.prefix, "/")
	if name == "" {
		name = "default"
	}
	snap := &ice.CatalogSnapshot{Version: ice.CatalogSnapshotVersion, CatalogName: name,
		ExportedAt: time.Now().UTC().Format(time.RFC3339Nano), Namespaces: []ice.CatalogEntry{}, Tables: []ice.CatalogEntry{}}
	nsPrefix, tPrefix := s.keys.prefix+"n/", s.keys.prefix+"t/"
	if len(ns) > 0 {
		nsPrefix, tPrefix = s.keys.namespace(ns), s.keys.tablesIn(ns)
	}
	var rev int64
	collect := func(prefix string, match func(key string) bool, into *[]ice.CatalogEntry) error {
		return s.rangePrefix(ctx, prefix, &rev, func(key string, value []byte) error {
			if !match(key) {
				return nil
			}
			props, err := decodeProps(value)
			if err != nil {
				return err
			}
			*into = append(*into, ice.CatalogEntry{Key: key, Value: props})
			return nil
		})
	}
	nsKey := s.keys.namespace(ns)
	matchNS := func(key string) bool { return len(ns) == 0 || key == nsKey || strings.HasPrefix(key, nsKey+"/") }
	if err := collect(nsPrefix, matchNS, &snap.Namespaces); err != nil {
		return nil, err
	}
	if err := collect(tPrefix, func(string) bool { return true }, &snap.Tables); err != nil {
		return nil, err
	}
	return snap, nil
}

// rangePrefix calls fn for every key under prefix, in key order, all read at
// *rev (set by the first page when zero).
func (s *Store) rangePrefix(ctx context.Context, prefix string, rev *int64, fn func(key string, value []byte) error) error {
	end := clientv3.GetPrefixRangeEnd(prefix)
	from := prefix
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(listBatch)}
		if *rev != 0 {
			opts = append(opts, clientv3.WithRev(*rev))
		}
		resp, err := s.cli.Get(ctx, from, opts...)
		if err != nil {
			return readError("export catalog", err)
		}
		if *rev == 0 {
			*rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			if err := fn(string(kv.Key), kv.Value); err != nil {
				return err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// ImportCatalog validates every entry, then writes namespaces (parents
// first) and tables, one conditional transaction per key. Keys are moved
// from the exporting catalog's prefix to this one's, so a file exported from
// one catalog name can be imported under another.
func (s *Store) ImportCatalog(ctx context.Context, snap *ice.CatalogSnapshot, dryRun, overwrite bool) (*ice.ImportResult, error) {
	if snap.Version != ice.CatalogSnapshotVersion {
		return nil, ice.Errorf(ice.EINVALID, "unsupported catalog export version %d (expected %d)", snap.Version, ice.CatalogSnapshotVersion)
	}
	from := ""
	if snap.CatalogName != "" && snap.CatalogName != "default" {
		from = snap.CatalogName + "/"
	}
	type put struct{ key, value string }
	var puts []put
	for _, e := range snap.Namespaces {
		rel, err := relativeKey(e.Key, from, "n/")
		if err != nil {
			return nil, err
		}
		if err := ice.ValidateNamespace(strings.Split(rel, "/")); err != nil {
			return nil, ice.Invalid("namespace entry %q: %w", e.Key, err)
		}
		puts = append(puts, put{s.keys.prefix + "n/" + rel, encodeProps(e.Value)})
	}
	// Parents before children, so a namespace never appears without its parent.
	sort.SliceStable(puts, func(i, j int) bool { return strings.Count(puts[i].key, "/") < strings.Count(puts[j].key, "/") })
	for _, e := range snap.Tables {
		rel, err := relativeKey(e.Key, from, "t/")
		if err != nil {
			return nil, err
		}
		levels := strings.Split(rel, "/")
		id := ice.TableIdent{Namespace: levels[:len(levels)-1], Name: levels[len(levels)-1]}
		if err := ice.ValidateTableIdent(id); err != nil {
			return nil, ice.Invalid("table entry %q: %w", e.Key, err)
		}
		if e.Value[attrMetadataLocation] == "" {
			return nil, ice.Errorf(ice.EINVALID, "table entry %q has no %s", e.Key, attrMetadataLocation)
		}
		// A claim in the exporting catalog's location index is not one in
		// this catalog's: the entry arrives unclaimed, and the backfill
		// claims it (service.BackfillLocations).
		value := maps.Clone(e.Value)
		delete(value, attrLocationKey)
		puts = append(puts, put{s.keys.table(id), encodeProps(value)})
	}
	res := &ice.ImportResult{CatalogName: snap.CatalogName, ExportedAt: snap.ExportedAt}
	for _, p := range puts {
		existed, err := s.putEntry(ctx, p.key, p.value, dryRun, overwrite)
		if err != nil {
			return res, err
		}
		switch {
		case !existed:
			res.Created++
		case overwrite:
			res.Overwritten++
		default:
			res.Skipped++
		}
	}
	return res, nil
}

// putEntry writes key unless it exists (or always, with overwrite) and
// reports whether it existed; a dry run only looks.
func (s *Store) putEntry(ctx context.Context, key, value string, dryRun, overwrite bool) (existed bool, err error) {
	if dryRun {
		resp, err := s.cli.Get(ctx, key, clientv3.WithCountOnly())
		if err != nil {
			return false, readError("import catalog", err)
		}
		return resp.Count > 0, nil
	}
	absent := clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
	txn := s.cli.Txn(ctx).If(absent).Then(clientv3.OpPut(key, value))
	if overwrite {
		txn = txn.Else(clientv3.OpPut(key, value))
	}
	resp, err := txn.Commit()
	if err != nil {
		return false, writeError("import catalog", err)
	}
	return !resp.Succeeded, nil
}

// relativeKey strips the exporting catalog's prefix and the kind's prefix.
func relativeKey(key, catalogPrefix, kind string) (string, error) {
	rel, ok := strings.CutPrefix(key, catalogPrefix+kind)
	if !ok || rel == "" {
		return "", ice.Errorf(ice.EINVALID, "entry key %q does not start with %q", key, catalogPrefix+kind)
	}
	return rel, nil
}
