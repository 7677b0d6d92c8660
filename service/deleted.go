package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	ice "github.com/ice-rest-catalog/ice"
)

// SoftDrop is the catalog's soft-drop setting; a namespace's properties
// ice.soft-drop.enabled and ice.soft-drop.retention override it.
type SoftDrop struct {
	Enabled   bool
	Retention time.Duration // default 7 days
}

const defaultRetention = 7 * 24 * time.Hour

// softDropFor decides whether a drop in ns is soft, and for how long.
func (s *Service) softDropFor(ctx context.Context, ns ice.Namespace) (bool, time.Duration, error) {
	if s.deleted == nil {
		return false, 0, nil
	}
	on, retention := s.softDrop.Enabled, s.softDrop.Retention
	entry, err := s.store.LoadNamespace(ctx, ns)
	if ice.ErrorCode(err) == ice.ENOTFOUND {
		// A table without its namespace entry (another writer made it):
		// the catalog's setting applies.
		entry, err = ice.NamespaceEntry{}, nil
	}
	if err != nil {
		return false, 0, err
	}
	if v, ok := entry.Properties[ice.PropSoftDrop]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, 0, ice.Errorf(ice.EINVALID, "namespace %s: property %s=%q is not true or false", ns, ice.PropSoftDrop, v)
		}
		on = b
	}
	if v, ok := entry.Properties[ice.PropSoftDropRetention]; ok {
		d, err := ParseRetention(v)
		if err != nil {
			return false, 0, ice.Invalid("namespace %s: property %s: %w", ns, ice.PropSoftDropRetention, err)
		}
		retention = d
	}
	if retention <= 0 {
		retention = defaultRetention
	}
	return on, retention, nil
}

// ParseRetention reads a retention: a Go duration ("36h") or whole days
// ("7d").
func ParseRetention(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("retention %q: want a positive number of days (\"7d\") or a duration (\"36h\")", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("retention %q: want a positive number of days (\"7d\") or a duration (\"36h\")", v)
	}
	return d, nil
}

func newDeletedID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand never fails
	return hex.EncodeToString(b)
}

// moveToDeleted moves a table's or view's entry (read at ptr) to the deleted
// area; location is its base location, kept reserved.
func (s *Service) moveToDeleted(ctx context.Context, kind string, id ice.TableIdent, ptr ice.TablePointer, location string, retention time.Duration) error {
	now := time.Now().UTC()
	a, _ := ice.AuditFrom(ctx)
	d := ice.DeletedEntry{ID: newDeletedID(), Kind: kind, Namespace: id.Namespace, Name: id.Name,
		MetadataLocation: ptr.MetadataLocation, Location: location, DroppedAt: now, Principal: a.Principal,
		RetainUntil: now.Add(retention), Entry: ptr.Attrs}
	return s.deleted.SoftDrop(ctx, d, ptr.Revision)
}

// ListDeleted lists a namespace's soft-dropped tables and views.
func (s *Service) ListDeleted(ctx context.Context, ns ice.Namespace) ([]ice.DeletedEntry, error) {
	if err := ice.ValidateNamespace(ns); err != nil {
		return nil, err
	}
	if s.deleted == nil {
		return []ice.DeletedEntry{}, nil
	}
	out, err := s.deleted.ListDeleted(ctx, ns)
	if out == nil {
		out = []ice.DeletedEntry{}
	}
	return out, err
}

// Undrop restores a deleted entry under its old name, or under newName
// (in the same namespace) when given. The entry comes back byte for byte
// in the same Txn that removes its record.
func (s *Service) Undrop(ctx context.Context, ns ice.Namespace, id, newName string) (ice.DeletedEntry, ice.TableIdent, error) {
	if err := ice.ValidateNamespace(ns); err != nil {
		return ice.DeletedEntry{}, ice.TableIdent{}, err
	}
	if s.deleted == nil {
		return ice.DeletedEntry{}, ice.TableIdent{}, ice.NoSuchDeleted(ns, id)
	}
	if id == "" || strings.ContainsAny(id, "/.") {
		return ice.DeletedEntry{}, ice.TableIdent{}, ice.Errorf(ice.EINVALID, "invalid deleted entry id %q", id)
	}
	d, err := s.deleted.LoadDeleted(ctx, ns, id)
	if err != nil {
		return ice.DeletedEntry{}, ice.TableIdent{}, err
	}
	to := d.Ident()
	if newName != "" {
		to.Name = newName
	}
	if err := ice.ValidateTableIdent(to); err != nil {
		return d, to, err
	}
	err = s.deleted.Undrop(ctx, d, to)
	if ice.ErrorCode(err) == ice.EEXISTS && newName == "" {
		return d, to, ice.AlreadyExists("%s is taken: undrop %s under a new name (\"name\" in the request body)", to, id).WithCause(err)
	}
	return d, to, err
}

// PurgeExpired purges the deleted entries whose retention ended before
// now: the record goes first (in a Txn that requires it unchanged, so an
// undrop racing it wins or loses whole), then the files through the same
// purge as a drop with purgeRequested. It returns how many it purged.
func (s *Service) PurgeExpired(ctx context.Context, now time.Time) (int, error) {
	if s.deleted == nil {
		return 0, nil
	}
	all, err := s.deleted.ListDeleted(ctx, nil)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range all {
		if now.Before(d.RetainUntil) {
			continue
		}
		d, err := s.deleted.LoadDeleted(ctx, d.Namespace, d.ID) // its revision
		if err != nil {
			continue // undropped meanwhile
		}
		if err := s.deleted.ForgetDeleted(ctx, d); err != nil {
			if ice.ErrorCode(err) == ice.ECONFLICT {
				continue
			}
			return n, err
		}
		if d.Kind == ice.KindTable {
			s.purge(ctx, d.Ident(), d.MetadataLocation)
		}
		n++
	}
	return n, nil
}

// reservedBy names the deleted entry whose location overlaps loc, if any.
func (s *Service) reservedBy(ctx context.Context, loc string) (string, error) {
	if s.deleted == nil {
		return "", nil
	}
	reserved, err := s.deleted.ReservedLocations(ctx)
	if err != nil {
		return "", err
	}
	loc = strings.TrimSuffix(loc, "/")
	for _, r := range reserved {
		r = strings.TrimSuffix(r, "/")
		if loc == r || strings.HasPrefix(loc, r+"/") || strings.HasPrefix(r, loc+"/") {
			return r, nil
		}
	}
	return "", nil
}

// checkNotReserved refuses a table location that overlaps a deleted
// entry's.
func (s *Service) checkNotReserved(ctx context.Context, loc string) error {
	r, err := s.reservedBy(ctx, loc)
	if err != nil || r == "" {
		return err
	}
	return ice.AlreadyExists("location %s overlaps %s, kept for a dropped table that can still be undropped; undrop it, or wait for its purge", loc, r)
}
