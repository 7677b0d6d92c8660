package ice

import (
	"context"
)

// TablePointer is what the store keeps for a table: where its current
// metadata file is. Revision is the store's version of the entry when it was
// read (etcd's ModRevision); a commit succeeds only if it is still current.
type TablePointer struct {
	MetadataLocation         string
	PreviousMetadataLocation string
	Revision                 int64
	// LocationKey is the table location's Location.Key() as the store's
	// location index holds it for this entry; "" for an entry that has no
	// claim (one written by the Java server, or before the index).
	LocationKey string
	// Attrs holds every key of the stored entry, so keys written by another
	// implementation survive our rewrites.
	Attrs map[string]string
}

// NamespaceEntry is a namespace's properties and their revision.
type NamespaceEntry struct {
	Properties map[string]string
	Revision   int64
}

// Page asks for one page of a listing. Token is opaque, from the previous
// page; Size 0 asks for everything.
type Page struct {
	Token string
	Size  int
}

// TableSwap moves one table's pointer from Base to NewLocation. A zero
// Base.Revision means the table must not exist yet (a create).
type TableSwap struct {
	ID          TableIdent
	Base        TablePointer
	NewLocation string
	// ClaimLocation, when set, is the Location.Key() of the entry's table
	// location after the swap. The store claims it in its location index in
	// the same transaction, releasing the base's claim, and refuses the swap
	// with EINVALID when another entry's indexed location is at, above or
	// below it. Empty keeps the base's claim.
	ClaimLocation string
}

// ViewPointer is what the store keeps for a view: the same shape as a
// table's pointer, under its own key prefix.
type ViewPointer = TablePointer

// ViewSwap moves one view's pointer; a zero Base.Revision is a create.
type ViewSwap = TableSwap

// NoSuchView reports a missing view.
func NoSuchView(id TableIdent) *Error {
	return newError(ENOTFOUND, typeNoSuchView, "View does not exist: %s", id)
}

// Store keeps the catalog's entries. Every method reads or writes the store
// directly: no cache that could go stale. Errors are *Error values:
// ENOTFOUND, EEXISTS, ENOTEMPTY, ECONFLICT, EUNAVAILABLE, EUNKNOWNSTATE.
type Store interface {
	CreateNamespace(ctx context.Context, ns Namespace, props map[string]string) error
	LoadNamespace(ctx context.Context, ns Namespace) (NamespaceEntry, error)
	NamespaceExists(ctx context.Context, ns Namespace) (bool, error)
	// ListNamespaces lists the direct children of parent (the root when empty).
	ListNamespaces(ctx context.Context, parent Namespace, page Page) (children []Namespace, next string, err error)
	// ReplaceNamespaceProperties writes props if the entry is still at revision.
	ReplaceNamespaceProperties(ctx context.Context, ns Namespace, props map[string]string, revision int64) error
	// DropNamespace deletes an empty namespace, atomically with the emptiness check.
	DropNamespace(ctx context.Context, ns Namespace) error

	LoadTable(ctx context.Context, id TableIdent) (TablePointer, error)
	ListTables(ctx context.Context, ns Namespace, page Page) (tables []TableIdent, next string, err error)
	// SwapTables applies every swap in one transaction, or none. With a
	// claim (nil for none), the transaction also requires the claim to be
	// current and stores the committed outcome under its key: a nil error
	// means the outcome is stored, and nothing is left to record.
	SwapTables(ctx context.Context, swaps []TableSwap, claim *IdempotencyClaim) error
	// DropTable deletes the table's entry, and its location claim, if it is
	// still at base's revision.
	DropTable(ctx context.Context, id TableIdent, base TablePointer) error
	// RenameTable moves an entry in one transaction that checks both keys.
	RenameTable(ctx context.Context, from, to TableIdent) error

	// A view and a table never share an identifier: each create or rename
	// checks the other kind's key in the same transaction.
	LoadView(ctx context.Context, id TableIdent) (ViewPointer, error)
	ListViews(ctx context.Context, ns Namespace, page Page) (views []TableIdent, next string, err error)
	// SwapView creates (zero Base.Revision) or repoints one view.
	SwapView(ctx context.Context, swap ViewSwap) error
	// DropView deletes the view's entry, and its location claim, if it is
	// still at base's revision.
	DropView(ctx context.Context, id TableIdent, base ViewPointer) error
	// RenameView moves an entry in one transaction that checks both keys.
	RenameView(ctx context.Context, from, to TableIdent) error
}
