package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	ice "github.com/ice-rest-catalog/ice"
)

// The change feed is etcd's own history: a watch of the catalog's keys,
// one revision at a time. Each write Txn of the catalog also puts the
// request's principal and operation under ev/audit, so the revision that
// changed an entry also says who changed it (docs/events.md).

func (k keys) audit() string                          { return k.prefix + "ev/audit" }
func (k keys) maintenanceRun() string                 { return k.prefix + "ev/maintenance" }
func (k keys) cursor(sink string) string              { return k.prefix + "ev/cursor/" + sink }
func (k keys) deleted(ns ice.Namespace) string        { return k.prefix + "d/" + ns.Path() + "/" }
func (k keys) deletedEntry(d ice.DeletedEntry) string { return k.deleted(d.Namespace) + d.ID }

// EventsLeaderKey is the election prefix of the event deliverers.
func (s *Store) EventsLeaderKey() string { return s.keys.prefix + "ev/leader" }

// withAudit appends the put of ev/audit to a catalog Txn's operations when
// the request carries an Audit: one small put, no comparison, so it costs
// one more op in the Txn and never makes it conflict.
func (s *Store) withAudit(ctx context.Context, ops ...clientv3.Op) []clientv3.Op {
	a, ok := ice.AuditFrom(ctx)
	if !ok {
		return ops
	}
	a.Time = time.Now().UTC().Truncate(time.Millisecond)
	b, _ := json.Marshal(a) // two strings always encode
	return append(ops, clientv3.OpPut(s.keys.audit(), string(b)))
}

// RecordMaintenanceRun writes the outcome of a maintenance run, which the
// feed reports as ice.maintenance.run.
func (s *Store) RecordMaintenanceRun(ctx context.Context, run ice.MaintenanceRun) error {
	b, err := json.Marshal(run)
	if err != nil {
		return fmt.Errorf("encode maintenance run: %w", err)
	}
	if _, err := s.cli.Txn(ctx).Then(clientv3.OpPut(s.keys.maintenanceRun(), string(b))).Commit(); err != nil {
		return writeError("record maintenance run", err)
	}
	return nil
}

var _ ice.ChangeFeed = (*Store)(nil)
var _ ice.CursorStore = (*Store)(nil)

// Head returns etcd's current revision.
func (s *Store) Head(ctx context.Context) (int64, error) {
	resp, err := s.cli.Get(ctx, s.keys.audit(), clientv3.WithCountOnly())
	if err != nil {
		return 0, readError("read revision", err)
	}
	return resp.Header.Revision, nil
}

// Check finds out whether the revisions after the cursor are still in
// etcd's history: a read at the first of them fails if it was compacted,
// and a watch from it names the compaction revision.
func (s *Store) Check(ctx context.Context, after ice.Cursor) error {
	start := after.Revision + 1
	if after.Index > 0 {
		start = after.Revision
	}
	head, err := s.Head(ctx)
	if err != nil {
		return err
	}
	if start > head+1 {
		return ice.Errorf(ice.EINVALID, "event cursor %s is ahead of the catalog's current revision %d", after, head)
	}
	if start > head {
		return nil // only new events
	}
	_, err = s.cli.Get(ctx, s.keys.audit(), clientv3.WithRev(start), clientv3.WithCountOnly())
	if err == nil {
		return nil
	}
	if !errors.Is(err, rpctypes.ErrCompacted) {
		return readError("check event cursor", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for resp := range s.cli.Watch(wctx, s.keys.audit(), clientv3.WithRev(start)) {
		if resp.CompactRevision > 0 {
			return &ice.CursorCompactedError{Cursor: after, Compact: resp.CompactRevision, Resync: resp.CompactRevision}
		}
		break
	}
	return &ice.CursorCompactedError{Cursor: after, Compact: head, Resync: head}
}

// Watch streams the catalog's events after the cursor. etcd's watch sends
// every revision whole and in order, so the events of one Txn arrive
// together and are classified together (a rename is one event).
func (s *Store) Watch(ctx context.Context, after ice.Cursor, fn func(ice.Event) error) error {
	start := after.Revision + 1
	if after.Index > 0 {
		start = after.Revision // part of it was consumed: replay it, skip those
	}
	key, opts := s.keys.prefix, []clientv3.OpOption{clientv3.WithRev(start), clientv3.WithPrevKV()}
	if key == "" {
		opts = append(opts, clientv3.WithFromKey()) // the default catalog has no prefix
	} else {
		opts = append(opts, clientv3.WithPrefix())
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range s.cli.Watch(wctx, key, opts...) {
		if resp.CompactRevision > 0 || errors.Is(resp.Err(), rpctypes.ErrCompacted) {
			return &ice.CursorCompactedError{Cursor: after, Compact: resp.CompactRevision, Resync: resp.CompactRevision}
		}
		if err := resp.Err(); err != nil {
			return ice.Unavailable("the catalog store's watch failed; reconnect with the last cursor", err)
		}
		for _, rev := range groupByRevision(resp.Events) {
			for _, e := range s.classify(rev) {
				if !after.After(e) {
					continue
				}
				if err := fn(e); err != nil {
					return err
				}
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return ice.Unavailable("the catalog store's watch ended; reconnect with the last cursor", nil)
}

func groupByRevision(evs []*clientv3.Event) [][]*clientv3.Event {
	var out [][]*clientv3.Event
	for i := 0; i < len(evs); {
		j := i + 1
		for j < len(evs) && evs[j].Kv.ModRevision == evs[i].Kv.ModRevision {
			j++
		}
		out = append(out, evs[i:j])
		i = j
	}
	return out
}

// change is one key of a revision, parsed.
type change struct {
	kind  string // "n", "t", "v", "d"
	id    ice.TableIdent
	del   bool
	value []byte // after (put) or before (delete)
	prev  []byte // nil for a create
	used  bool
}

// classify turns the changes of one revision into events, in key order of
// the Txn's operations.
func (s *Store) classify(evs []*clientv3.Event) []ice.Event {
	rev := evs[0].Kv.ModRevision
	var audit ice.Audit
	var run *ice.MaintenanceRun
	var chs []*change
	for _, ev := range evs {
		rel, ok := strings.CutPrefix(string(ev.Kv.Key), s.keys.prefix)
		if !ok {
			continue
		}
		switch {
		case rel == "ev/audit":
			if ev.Type == mvccpb.PUT {
				_ = json.Unmarshal(ev.Kv.Value, &audit)
			}
			continue
		case rel == "ev/maintenance":
			if ev.Type == mvccpb.PUT {
				var r ice.MaintenanceRun
				if json.Unmarshal(ev.Kv.Value, &r) == nil {
					run = &r
				}
			}
			continue
		}
		kind, path, ok := strings.Cut(rel, "/")
		if !ok || (kind != "n" && kind != "t" && kind != "v" && kind != "d") || path == "" {
			continue
		}
		levels := strings.Split(path, "/")
		c := &change{kind: kind, del: ev.Type == mvccpb.DELETE}
		if kind == "n" {
			c.id = ice.TableIdent{Namespace: levels}
		} else {
			if len(levels) < 2 {
				continue
			}
			c.id = ice.TableIdent{Namespace: levels[:len(levels)-1], Name: levels[len(levels)-1]}
		}
		if c.del {
			if ev.PrevKv != nil {
				c.value = ev.PrevKv.Value
			}
		} else {
			c.value = ev.Kv.Value
			if ev.PrevKv != nil {
				c.prev = ev.PrevKv.Value
			}
		}
		chs = append(chs, c)
	}
	var out []ice.Event
	emit := func(typ string, ns ice.Namespace, name, idKey string, data ice.EventData) {
		data.Namespace, data.Name, data.Revision = ns, name, rev
		data.Principal, data.Operation = audit.Principal, audit.Operation
		out = append(out, ice.Event{ID: fmt.Sprintf("%d-%s", rev, idKey), Type: typ, Revision: rev,
			Time: audit.Time, Namespace: ns, Name: name, Data: data})
	}
	deletedOf := func(c *change) (ice.DeletedEntry, bool) {
		var d ice.DeletedEntry
		if json.Unmarshal(c.value, &d) != nil {
			return d, false
		}
		return d, true
	}
	// Entries first, then the deleted records they did not account for
	// (an undrop's record goes with its entry; the rest are purges).
	ordered := make([]*change, 0, len(chs))
	for _, c := range chs {
		if c.kind != "d" {
			ordered = append(ordered, c)
		}
	}
	for _, c := range chs {
		if c.kind == "d" {
			ordered = append(ordered, c)
		}
	}
	for _, c := range ordered {
		if c.used {
			continue
		}
		c.used = true
		switch c.kind {
		case "n":
			ns := c.id.Namespace
			key := "n/" + ns.Path()
			switch {
			case c.del:
				emit(ice.EventNamespaceDropped, ns, "", key, ice.EventData{})
			case c.prev == nil:
				props, _ := decodeProps(c.value)
				emit(ice.EventNamespaceCreated, ns, "", key, ice.EventData{Properties: props})
			default:
				props, _ := decodeProps(c.value)
				emit(ice.EventNamespaceUpdated, ns, "", key, ice.EventData{Properties: props})
			}
		case "t", "v":
			s.classifyEntry(c, chs, audit, emit, deletedOf)
		case "d":
			d, ok := deletedOf(c)
			if !ok || !c.del {
				continue // a soft drop's record is reported with its drop
			}
			typ := ice.EventTablePurged
			if d.Kind == ice.KindView {
				typ = ice.EventViewPurged
			}
			emit(typ, d.Namespace, d.Name, "d/"+d.Namespace.Path()+"/"+d.ID,
				ice.EventData{MetadataLocation: d.MetadataLocation, DeletedID: d.ID})
		}
	}
	if run != nil {
		emit(ice.EventMaintenanceRun, nil, "", "ev/maintenance", ice.EventData{Maintenance: run})
	}
	for i := range out {
		out[i].Index, out[i].Last = i+1, i == len(out)-1
	}
	return out
}

// classifyEntry reports a table's or a view's change, pairing it with the
// other changes of its Txn: a delete and a create of the same value are a
// rename; a delete with a new deleted record a soft drop; a create with a
// removed deleted record an undrop.
func (s *Store) classifyEntry(c *change, chs []*change, audit ice.Audit,
	emit func(string, ice.Namespace, string, string, ice.EventData), deletedOf func(*change) (ice.DeletedEntry, bool)) {
	table := c.kind == "t"
	pick := func(tbl, view string) string {
		if table {
			return tbl
		}
		return view
	}
	kind := pick(ice.KindTable, ice.KindView)
	key := c.kind + "/" + c.id.Namespace.Path() + "/" + c.id.Name
	ptr, _ := decodePointer(c.value, 0)
	data := ice.EventData{MetadataLocation: ptr.MetadataLocation}
	if c.del {
		for _, o := range chs {
			if o.used {
				continue
			}
			if o.kind == "d" && !o.del {
				if d, ok := deletedOf(o); ok && d.Kind == kind && d.Ident().String() == c.id.String() {
					o.used = true
					data.Soft, data.DeletedID = true, d.ID
					emit(pick(ice.EventTableDropped, ice.EventViewDropped), c.id.Namespace, c.id.Name, key, data)
					return
				}
			}
			if o.kind == c.kind && !o.del && o.prev == nil && string(o.value) == string(c.value) {
				o.used = true
				data.FromNamespace, data.FromName = c.id.Namespace, c.id.Name
				data.PreviousMetadataLocation = ptr.PreviousMetadataLocation
				emit(pick(ice.EventTableRenamed, ice.EventViewRenamed), o.id.Namespace, o.id.Name,
					o.kind+"/"+o.id.Namespace.Path()+"/"+o.id.Name, data)
				return
			}
		}
		emit(pick(ice.EventTableDropped, ice.EventViewDropped), c.id.Namespace, c.id.Name, key, data)
		return
	}
	if c.prev == nil {
		for _, o := range chs {
			if o.used || o.kind != "d" || !o.del {
				continue
			}
			if d, ok := deletedOf(o); ok && d.Kind == kind {
				o.used = true
				data.DeletedID = d.ID
				if d.Ident().String() != c.id.String() {
					data.FromNamespace, data.FromName = d.Namespace, d.Name
				}
				emit(pick(ice.EventTableUndropped, ice.EventViewUndropped), c.id.Namespace, c.id.Name, key, data)
				return
			}
		}
		// A rename whose source comes later in the Txn.
		for _, o := range chs {
			if !o.used && o.kind == c.kind && o.del && string(o.value) == string(c.value) {
				o.used = true
				data.FromNamespace, data.FromName = o.id.Namespace, o.id.Name
				data.PreviousMetadataLocation = ptr.PreviousMetadataLocation
				emit(pick(ice.EventTableRenamed, ice.EventViewRenamed), c.id.Namespace, c.id.Name, key, data)
				return
			}
		}
	}
	data.PreviousMetadataLocation = ptr.PreviousMetadataLocation
	switch {
	case strings.HasPrefix(audit.Operation, "register"):
		emit(pick(ice.EventTableRegistered, ice.EventViewRegistered), c.id.Namespace, c.id.Name, key, data)
	case c.prev == nil:
		emit(pick(ice.EventTableCreated, ice.EventViewCreated), c.id.Namespace, c.id.Name, key, data)
	default:
		emit(pick(ice.EventTableCommitted, ice.EventViewCommitted), c.id.Namespace, c.id.Name, key, data)
	}
}

// LoadCursor reads a deliverer's cursor.
func (s *Store) LoadCursor(ctx context.Context, sink string) (ice.Cursor, bool, error) {
	resp, err := s.cli.Get(ctx, s.keys.cursor(sink))
	if err != nil {
		return ice.Cursor{}, false, readError("load event cursor", err)
	}
	if len(resp.Kvs) == 0 {
		return ice.Cursor{}, false, nil
	}
	c, err := ice.ParseCursor(string(resp.Kvs[0].Value))
	if err != nil {
		return ice.Cursor{}, false, fmt.Errorf("stored cursor of %s: %w", sink, err)
	}
	return c, true, nil
}

// SaveCursor stores a deliverer's cursor. The deliverer is the elected
// leader, but a deposed one may still be finishing a batch: the cursor
// only moves forward, compared in the Txn.
func (s *Store) SaveCursor(ctx context.Context, sink string, c ice.Cursor) error {
	key := s.keys.cursor(sink)
	for attempt := 0; attempt < 8; attempt++ {
		resp, err := s.cli.Get(ctx, key)
		if err != nil {
			return readError("save event cursor", err)
		}
		var modRev int64
		if len(resp.Kvs) > 0 {
			modRev = resp.Kvs[0].ModRevision
			if old, err := ice.ParseCursor(string(resp.Kvs[0].Value)); err == nil && !old.Before(c) {
				return nil // already as far or further
			}
		}
		txn, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", modRev)).
			Then(clientv3.OpPut(key, c.String())).Commit()
		if err != nil {
			return writeError("save event cursor", err)
		}
		if txn.Succeeded {
			return nil
		}
	}
	return ice.Errorf(ice.ECONFLICT, "event cursor of %s kept changing", sink)
}
