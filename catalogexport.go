package ice

import "context"

// CatalogSnapshotVersion is the version of the export format.
const CatalogSnapshotVersion = 1

// CatalogSnapshot is a catalog's namespace and table entries as portable
// JSON, in the shape of the Java ice-rest-catalog's catalog export, so that
// either server can import the other's file. Keys are the etcd keys of the
// exporting catalog (n/<levels joined by />, t/<levels>/<table>, prefixed
// with "<name>/" for a catalog not named default); values are the entries'
// JSON objects.
type CatalogSnapshot struct {
	Version     int            `json:"version"`
	CatalogName string         `json:"catalog_name"`
	ExportedAt  string         `json:"exported_at"`
	Namespaces  []CatalogEntry `json:"namespaces"`
	Tables      []CatalogEntry `json:"tables"`
}

// CatalogEntry is one key and its value.
type CatalogEntry struct {
	Key   string            `json:"key"`
	Value map[string]string `json:"value"`
}

// ImportResult counts what an import did (or, in a dry run, would do).
type ImportResult struct {
	Created     int    `json:"created"`
	Skipped     int    `json:"skipped"`
	Overwritten int    `json:"overwritten"`
	CatalogName string `json:"catalog_name"`
	ExportedAt  string `json:"exported_at"`
}

// CatalogAdmin exports and imports a catalog's entries.
type CatalogAdmin interface {
	// ExportCatalog returns every namespace and table entry, or only those
	// of ns and the namespaces under it, read at one store revision.
	ExportCatalog(ctx context.Context, ns Namespace) (*CatalogSnapshot, error)
	// ImportCatalog writes snap's entries under this catalog's keys. An
	// existing entry is skipped, or replaced with overwrite. The whole file
	// is validated before anything is written; dryRun writes nothing.
	ImportCatalog(ctx context.Context, snap *CatalogSnapshot, dryRun, overwrite bool) (*ImportResult, error)
}
