package service

import (
	"context"

	"github.com/apache/iceberg-go/table"

	ice "github.com/ice-rest-catalog/ice"
)

// Feed is the store's change feed with what etcd does not hold: for each
// table commit, create and registration, the snapshot it added and the
// schema id when it changed, read from the metadata files (through the
// warehouse's metadata cache, so every replica and consumer shares it).
type Feed struct {
	src ice.ChangeFeed
	svc *Service
}

// NewFeed wraps src.
func (s *Service) NewFeed(src ice.ChangeFeed) *Feed { return &Feed{src: src, svc: s} }

var _ ice.ChangeFeed = (*Feed)(nil)

func (f *Feed) Head(ctx context.Context) (int64, error) { return f.src.Head(ctx) }

func (f *Feed) Check(ctx context.Context, after ice.Cursor) error { return f.src.Check(ctx, after) }

func (f *Feed) Watch(ctx context.Context, after ice.Cursor, fn func(ice.Event) error) error {
	return f.src.Watch(ctx, after, func(e ice.Event) error {
		switch e.Type {
		case ice.EventTableCommitted, ice.EventTableCreated, ice.EventTableRegistered:
			f.enrich(ctx, &e)
		}
		return fn(e)
	})
}

// enrich adds the commit's snapshot and schema. A file it cannot read
// (purged since) is noted in the event, which is still delivered.
func (f *Feed) enrich(ctx context.Context, e *ice.Event) {
	if e.Data.MetadataLocation == "" {
		return
	}
	md, err := f.svc.files.ReadMetadata(ctx, e.Data.MetadataLocation)
	if err != nil || md.Parsed == nil {
		if err != nil {
			e.Data.Error = "metadata file unreadable: " + err.Error()
		}
		return
	}
	var old table.Metadata
	if e.Type == ice.EventTableCommitted && e.Data.PreviousMetadataLocation != "" {
		if o, err := f.svc.files.ReadMetadata(ctx, e.Data.PreviousMetadataLocation); err == nil {
			old = o.Parsed
		}
	}
	cur := md.Parsed
	if old == nil || old.CurrentSchema().ID != cur.CurrentSchema().ID {
		id := cur.CurrentSchema().ID
		e.Data.SchemaID = &id
	}
	known := map[int64]bool{}
	if old != nil {
		for _, s := range old.Snapshots() {
			known[s.SnapshotID] = true
		}
	}
	snaps := cur.Snapshots()
	for i := len(snaps) - 1; i >= 0; i-- {
		sn := snaps[i]
		if known[sn.SnapshotID] {
			continue
		}
		es := &ice.EventSnapshot{ID: sn.SnapshotID}
		if sn.Summary != nil {
			es.Operation = string(sn.Summary.Operation)
			es.Summary = summaryOf(sn.Summary.Properties)
		}
		e.Data.Snapshot = es
		return
	}
}

// summaryOf keeps the summary's counts of records and files added and
// removed, and the totals.
func summaryOf(p map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range []string{"added-records", "deleted-records", "added-data-files", "deleted-data-files",
		"added-delete-files", "removed-delete-files", "added-files-size", "removed-files-size",
		"total-records", "total-data-files"} {
		if v, ok := p[k]; ok {
			out[k] = v
		}
	}
	return out
}
