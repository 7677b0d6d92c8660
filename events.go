package ice

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The change feed (docs/events.md). Events are derived from the store's own
// history (etcd's watch), not published by the replica that made a change,
// so a replica dying between its write and a publish cannot lose one.

// Event types, the CloudEvents "type" attribute.
const (
	EventNamespaceCreated = "ice.namespace.created"
	EventNamespaceUpdated = "ice.namespace.updated"
	EventNamespaceDropped = "ice.namespace.dropped"
	EventTableCreated     = "ice.table.created"
	EventTableCommitted   = "ice.table.committed"
	EventTableRenamed     = "ice.table.renamed"
	EventTableRegistered  = "ice.table.registered"
	EventTableDropped     = "ice.table.dropped"
	EventTableUndropped   = "ice.table.undropped"
	EventTablePurged      = "ice.table.purged" // a soft-dropped entry past retention
	EventViewCreated      = "ice.view.created"
	EventViewCommitted    = "ice.view.committed"
	EventViewRenamed      = "ice.view.renamed"
	EventViewRegistered   = "ice.view.registered"
	EventViewDropped      = "ice.view.dropped"
	EventViewUndropped    = "ice.view.undropped"
	EventViewPurged       = "ice.view.purged"
	EventMaintenanceRun   = "ice.maintenance.run"
)

// EventTypes lists every type, for validating filters.
var EventTypes = []string{
	EventNamespaceCreated, EventNamespaceUpdated, EventNamespaceDropped,
	EventTableCreated, EventTableCommitted, EventTableRenamed, EventTableRegistered,
	EventTableDropped, EventTableUndropped, EventTablePurged,
	EventViewCreated, EventViewCommitted, EventViewRenamed, EventViewRegistered,
	EventViewDropped, EventViewUndropped, EventViewPurged,
	EventMaintenanceRun,
}

// Event is one catalog change, before it is framed as a CloudEvent.
type Event struct {
	// ID is stable across redelivery: the revision and the entry's key.
	ID       string
	Type     string
	Revision int64 // the store revision that made the change
	// Index is the event's position (from 1) among the events of its
	// revision (a multi-table commit changes several tables at once);
	// Last says it is the revision's last event.
	Index int
	Last  bool
	Time  time.Time // when the feed saw it; etcd keeps no wall clock
	// Namespace and Name identify the entry (Name empty for namespaces
	// and maintenance runs).
	Namespace Namespace
	Name      string
	Data      EventData
}

// Cursor is where a consumer resumes: after this event.
func (e Event) Cursor() Cursor {
	if e.Last {
		return Cursor{Revision: e.Revision}
	}
	return Cursor{Revision: e.Revision, Index: e.Index}
}

// EventData is the CloudEvent's "data".
type EventData struct {
	Namespace []string `json:"namespace"`
	Name      string   `json:"name,omitempty"`
	Principal string   `json:"principal,omitempty"`
	Operation string   `json:"operation,omitempty"`
	Revision  int64    `json:"revision"`
	// Renames and undrops under a new name: where the entry came from.
	FromNamespace []string `json:"from-namespace,omitempty"`
	FromName      string   `json:"from-name,omitempty"`
	// Tables and views.
	MetadataLocation         string `json:"metadata-location,omitempty"`
	PreviousMetadataLocation string `json:"previous-metadata-location,omitempty"`
	// Commits: the snapshot added, if any, and the schema when it changed.
	Snapshot *EventSnapshot `json:"snapshot,omitempty"`
	SchemaID *int           `json:"schema-id,omitempty"`
	// Namespaces: the properties after the change.
	Properties map[string]string `json:"properties,omitempty"`
	// Drops: whether the entry went to the deleted area, and its id there.
	Soft      bool   `json:"soft,omitempty"`
	DeletedID string `json:"deleted-id,omitempty"`
	// Maintenance runs.
	Maintenance *MaintenanceRun `json:"maintenance,omitempty"`
	// Error says what could not be read (the metadata file of a commit).
	Error string `json:"error,omitempty"`
}

// EventSnapshot is the snapshot a commit added.
type EventSnapshot struct {
	ID        int64             `json:"snapshot-id"`
	Operation string            `json:"operation,omitempty"`
	Summary   map[string]string `json:"summary,omitempty"`
}

// MaintenanceRun is what the maintenance leader records after a run.
type MaintenanceRun struct {
	Leader   string    `json:"leader"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Outcome  string    `json:"outcome"` // "ok" or "failed"
	Error    string    `json:"error,omitempty"`
	Purged   int       `json:"purged,omitempty"` // deleted entries purged
}

// Cursor is a position in the feed: every event up to Revision has been
// consumed, or, with Index > 0, the first Index events of Revision.
type Cursor struct {
	Revision int64
	Index    int
}

func (c Cursor) String() string {
	if c.Index > 0 {
		return fmt.Sprintf("%d.%d", c.Revision, c.Index)
	}
	return strconv.FormatInt(c.Revision, 10)
}

// ParseCursor reads "R" or "R.i" (the SSE event ids).
func ParseCursor(s string) (Cursor, error) {
	rev, idx, dotted := strings.Cut(strings.TrimSpace(s), ".")
	r, err := strconv.ParseInt(rev, 10, 64)
	if err != nil || r < 0 {
		return Cursor{}, Errorf(EINVALID, "invalid event cursor %q: want a revision, or revision.index", s)
	}
	c := Cursor{Revision: r}
	if dotted {
		i, err := strconv.Atoi(idx)
		if err != nil || i < 1 {
			return Cursor{}, Errorf(EINVALID, "invalid event cursor %q: want a revision, or revision.index", s)
		}
		c.Index = i
	}
	return c, nil
}

// Before reports whether c is an earlier position than o.
func (c Cursor) Before(o Cursor) bool {
	if c.Revision != o.Revision {
		return c.Revision < o.Revision
	}
	return c.Index != 0 && (o.Index == 0 || c.Index < o.Index) // 0: the whole revision
}

// After reports whether e comes after the cursor.
func (c Cursor) After(e Event) bool {
	return e.Revision > c.Revision || (e.Revision == c.Revision && c.Index > 0 && e.Index > c.Index)
}

// EventFilter narrows a feed. Empty fields match everything. A Namespace
// matches its own events and those of the namespaces below it.
type EventFilter struct {
	Namespace Namespace
	Table     string
	Types     map[string]bool
	// Allowed, if set, decides per namespace whether the consumer may see
	// an event (nil namespace: catalog-wide events such as maintenance).
	Allowed func(Namespace) bool
}

// Match reports whether e passes the filter.
func (f EventFilter) Match(e Event) bool {
	if len(f.Types) > 0 && !f.Types[e.Type] {
		return false
	}
	if len(f.Namespace) > 0 && !hasPrefix(e.Namespace, f.Namespace) && !hasPrefix(e.Data.FromNamespace, f.Namespace) {
		return false
	}
	if f.Table != "" && e.Name != f.Table && e.Data.FromName != f.Table {
		return false
	}
	if f.Allowed != nil && !f.Allowed(e.Namespace) {
		return false
	}
	return true
}

func hasPrefix(ns, prefix Namespace) bool {
	if len(ns) < len(prefix) {
		return false
	}
	for i := range prefix {
		if ns[i] != prefix[i] {
			return false
		}
	}
	return true
}

// ChangeFeed streams the catalog's changes in store order.
type ChangeFeed interface {
	// Watch calls fn with every event after the cursor, in order, until
	// ctx ends or fn returns an error. A cursor older than the store's
	// compaction gets a *CursorCompactedError.
	Watch(ctx context.Context, after Cursor, fn func(Event) error) error
	// Head is the store's current revision: a cursor from which a
	// consumer sees only new changes.
	Head(ctx context.Context) (int64, error)
	// Check says, before a stream starts, whether Watch can serve the
	// cursor: a *CursorCompactedError, or EINVALID for a future revision.
	Check(ctx context.Context, after Cursor) error
}

// CursorCompactedError says the events a cursor asks for are gone: the
// consumer must resync fully (list the catalog) and resume from Resync.
type CursorCompactedError struct {
	Cursor  Cursor
	Compact int64 // the store's compaction revision
	Resync  int64 // the revision to resume from after a full resync
}

// Unwrap classifies it as EGONE.
func (e *CursorCompactedError) Unwrap() error {
	return &Error{Code: EGONE, Type: typeEventCursorGone, Message: e.Error()}
}

func (e *CursorCompactedError) Error() string {
	return fmt.Sprintf("event cursor %s is older than the store's compaction (revision %d): resync fully from revision %d (list the catalog at or after it, then resume with after=%d)",
		e.Cursor, e.Compact, e.Resync, e.Resync)
}

// CursorStore keeps a deliverer's cursor, per sink.
type CursorStore interface {
	LoadCursor(ctx context.Context, sink string) (Cursor, bool, error)
	SaveCursor(ctx context.Context, sink string, c Cursor) error
}

// Audit is who made a change and through which operation; the store
// records it in the same transaction as the change (docs/events.md).
type Audit struct {
	Principal string `json:"principal"`
	Operation string `json:"operation"`
	// Time is set by the store when it writes the record: the event's
	// time, the same on every redelivery.
	Time time.Time `json:"time,omitzero"`
}

type auditKey struct{}

// WithAudit returns ctx carrying a. rest/ sets it for every authorized
// request; maintenance sets its own.
func WithAudit(ctx context.Context, a Audit) context.Context {
	return context.WithValue(ctx, auditKey{}, a)
}

// AuditFrom returns the Audit ctx carries.
func AuditFrom(ctx context.Context) (Audit, bool) {
	a, ok := ctx.Value(auditKey{}).(Audit)
	return a, ok
}

// CloudEvent is an event in the CloudEvents 1.0 JSON format. Besides the
// required attributes it carries the extensions "revision" (the store
// revision) and "cursor" (where to resume after it).
type CloudEvent struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Subject         string    `json:"subject,omitempty"`
	Time            time.Time `json:"time,omitzero"`
	DataContentType string    `json:"datacontenttype"`
	Revision        int64     `json:"revision"`
	Cursor          string    `json:"cursor"`
	Data            EventData `json:"data"`
}

// CloudEvent frames e; source names the catalog ("/catalogs/<name>").
func (e Event) CloudEvent(source string) CloudEvent {
	subject := ""
	if len(e.Namespace) > 0 {
		subject = e.Namespace.String()
		if e.Name != "" {
			subject += "." + e.Name
		}
	}
	return CloudEvent{SpecVersion: "1.0", ID: e.ID, Source: source, Type: e.Type, Subject: subject,
		Time: e.Time, DataContentType: "application/json", Revision: e.Revision, Cursor: e.Cursor().String(), Data: e.Data}
}
