package ice

import (
	"context"
	"time"
)

// Soft drop (docs/events.md#undrop): a dropped table's or view's entry moves
// to a deleted area instead of vanishing. Its files stay, its location stays
// reserved, and it can be restored until its retention ends.

// Kinds of deleted entries.
const (
	KindTable = "table"
	KindView  = "view"
)

// Namespace properties that turn soft drop on or off below the catalog's
// setting, and set its retention (an ISO-8601 or Go duration).
const (
	PropSoftDrop          = "ice.soft-drop.enabled"
	PropSoftDropRetention = "ice.soft-drop.retention"
)

// DeletedEntry is a soft-dropped table or view.
type DeletedEntry struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"` // KindTable or KindView
	Namespace Namespace `json:"namespace"`
	Name      string    `json:"name"`
	// MetadataLocation is the current metadata file when it was dropped;
	// Location the table's or view's base location (reserved meanwhile).
	MetadataLocation string    `json:"metadata-location"`
	Location         string    `json:"location,omitempty"`
	DroppedAt        time.Time `json:"dropped-at"`
	Principal        string    `json:"principal,omitempty"`
	RetainUntil      time.Time `json:"retain-until"`
	// Entry is the stored pointer, restored byte for byte by an undrop.
	Entry map[string]string `json:"entry"`
	// Revision is the store's version of the deleted record.
	Revision int64 `json:"-"`
}

// Ident is the identifier the entry had.
func (d DeletedEntry) Ident() TableIdent { return TableIdent{Namespace: d.Namespace, Name: d.Name} }

// DeletedStore keeps the deleted area. Every move is one transaction.
type DeletedStore interface {
	// SoftDrop moves the entry (table or view, at revision) to the
	// deleted area in one transaction; d.Entry is filled from the store.
	SoftDrop(ctx context.Context, d DeletedEntry, revision int64) error
	// ListDeleted lists a namespace's deleted entries (ns nil: all).
	ListDeleted(ctx context.Context, ns Namespace) ([]DeletedEntry, error)
	LoadDeleted(ctx context.Context, ns Namespace, id string) (DeletedEntry, error)
	// Undrop restores d under to in one transaction that requires the
	// record unchanged, to free for both kinds and its namespace present.
	Undrop(ctx context.Context, d DeletedEntry, to TableIdent) error
	// ForgetDeleted removes the record if it is unchanged (before a purge).
	ForgetDeleted(ctx context.Context, d DeletedEntry) error
	// ReservedLocations are the base locations of every deleted entry:
	// no new table may take one (see the location-overlap rule).
	ReservedLocations(ctx context.Context) ([]string, error)
}

// NoSuchDeleted reports a missing deleted entry.
func NoSuchDeleted(ns Namespace, id string) *Error {
	return NotFound("No deleted entry %s in namespace %s", id, ns)
}
