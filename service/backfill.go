package service

import (
	"context"

	ice "github.com/ice-rest-catalog/ice"
)

// LocationIndexer is what BackfillLocations needs beyond ice.Store: the
// etcd store's IndexLocation (etcd/locations.go).
type LocationIndexer interface {
	IndexLocation(ctx context.Context, id ice.TableIdent, view bool, ptr ice.TablePointer, locKey string) error
}

// BackfillReport counts what BackfillLocations did.
type BackfillReport struct {
	Indexed, Refused, Failed int
}

// BackfillLocations claims, in the store's location index, the location of
// every table and view that has no claim: entries written by the Java
// server (or catalog-import, or this server before the index), which the
// overlap rule cannot otherwise see. It reads each such entry's metadata
// once; entries already claimed cost one etcd read. A location that
// overlaps one already claimed, or that the rule refuses, stays unclaimed
// and is logged: an admin must move or drop one of the two tables. It is
// safe to run on several replicas at once (each claim is one Txn).
func (s *Service) BackfillLocations(ctx context.Context) (BackfillReport, error) {
	var rep BackfillReport
	idx, ok := s.store.(LocationIndexer)
	if !ok {
		return rep, nil
	}
	var walk func(parent ice.Namespace) error
	walk = func(parent ice.Namespace) error {
		children, err := listAll(func(p ice.Page) ([]ice.Namespace, string, error) {
			return s.store.ListNamespaces(ctx, parent, p)
		})
		if err != nil {
			return err
		}
		for _, ns := range children {
			for _, view := range []bool{false, true} {
				list := s.store.ListTables
				if view {
					list = s.store.ListViews
				}
				ids, err := listAll(func(p ice.Page) ([]ice.TableIdent, string, error) { return list(ctx, ns, p) })
				if err != nil {
					return err
				}
				for _, id := range ids {
					s.backfillOne(ctx, idx, id, view, &rep)
				}
			}
			if err := walk(ns); err != nil {
				return err
			}
		}
		return nil
	}
	err := walk(nil)
	return rep, err
}

func (s *Service) backfillOne(ctx context.Context, idx LocationIndexer, id ice.TableIdent, view bool, rep *BackfillReport) {
	load, read := s.store.LoadTable, func(loc string) (string, error) {
		md, err := s.files.ReadServable(ctx, loc)
		if err != nil {
			return "", err
		}
		return md.TableLocation, nil
	}
	if view {
		load, read = s.store.LoadView, func(loc string) (string, error) {
			md, err := s.files.ReadViewMetadata(ctx, loc)
			if err != nil {
				return "", err
			}
			return md.Parsed.Location(), nil
		}
	}
	ptr, err := load(ctx, id)
	if err != nil || ptr.LocationKey != "" {
		return
	}
	tableLoc, err := read(ptr.MetadataLocation)
	if err != nil {
		rep.Failed++
		s.log.WarnContext(ctx, "location index: metadata unreadable; entry left unclaimed", "entry", id.String(), "err", err)
		return
	}
	l, err := s.CheckStoredLocation(tableLoc)
	if err == nil {
		err = idx.IndexLocation(ctx, id, view, ptr, l.Key())
	}
	switch {
	case err == nil:
		rep.Indexed++
	case ice.ErrorCode(err) == ice.EINVALID:
		rep.Refused++
		s.log.WarnContext(ctx, "location index: entry left unclaimed", "entry", id.String(), "location", tableLoc, "err", err)
	default:
		rep.Failed++
	}
}

func listAll[T any](page func(ice.Page) ([]T, string, error)) ([]T, error) {
	var out []T
	p := ice.Page{Size: 1000}
	for {
		items, next, err := page(p)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		p.Token = next
	}
}
