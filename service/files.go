package service

import (
	"context"

	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/view"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// MetadataFiles is the service's seam with storage for metadata files.
// Reads come in two kinds: ReadServable gives the bytes only (a loadTable
// sends them as they are), ReadMetadata the bytes and iceberg-go's model
// (everything that looks inside). *warehouse.Warehouse is the
// implementation; tests wrap it to inject storage faults.
type MetadataFiles interface {
	ReadServable(ctx context.Context, location string) (*warehouse.MetadataFile, error)
	ReadMetadata(ctx context.Context, location string) (*warehouse.Metadata, error)
	// WriteMetadata writes a new table metadata file; base is the
	// metadata it was built on, nil for a new table.
	WriteMetadata(ctx context.Context, location string, md table.Metadata, base *warehouse.Metadata) (*warehouse.Metadata, error)
	ReadViewMetadata(ctx context.Context, location string) (*warehouse.ViewMetadata, error)
	WriteViewMetadata(ctx context.Context, location string, md view.Metadata) (*warehouse.ViewMetadata, error)
	// Delete removes one metadata file; a missing file is not an error.
	Delete(ctx context.Context, location string) error
}

// TableFiles is what the service asks of storage for a table's other
// files.
type TableFiles interface {
	// Location is the warehouse root.
	Location() string
	DeleteIn(ctx context.Context, tableLoc ice.Location, location string) error
	Purge(ctx context.Context, md *warehouse.Metadata, tableLoc ice.Location) error
	NormalizeSnapshot(ctx context.Context, md table.Metadata, snap table.Snapshot) (table.Snapshot, bool, error)
	FileIO(ctx context.Context, location string) (icebergio.IO, error)
}

// Storage is all the service asks of storage (Config.Warehouse).
type Storage interface {
	MetadataFiles
	TableFiles
}

var _ Storage = (*warehouse.Warehouse)(nil)
