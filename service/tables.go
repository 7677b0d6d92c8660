package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// Table is a table as the catalog serves it: its pointer and metadata. For a
// staged create, Location is empty: nothing is stored yet.
type Table struct {
	ID       ice.TableIdent
	Location string // metadata file location
	Metadata *warehouse.Metadata
}

// TableFile is a table as a loadTable sends it: its pointer and its
// metadata file's bytes, unparsed (warehouse.ReadServable).
type TableFile struct {
	ID       ice.TableIdent
	Location string // metadata file location; empty for a staged create
	Metadata *warehouse.MetadataFile
}

// File is t as a loadTable sends it.
func (t *Table) File() *TableFile {
	f := &TableFile{ID: t.ID, Location: t.Location}
	if t.Metadata != nil {
		f.Metadata = &t.Metadata.MetadataFile
	}
	return f
}

// CreateTable describes a createTable request.
type CreateTable struct {
	Name        string
	Location    string
	Schema      *iceberg.Schema
	Spec        *iceberg.PartitionSpec
	SortOrder   *table.SortOrder
	Properties  map[string]string
	StageCreate bool
}

// LoadTable returns the table's current pointer and metadata.
func (s *Service) LoadTable(ctx context.Context, id ice.TableIdent) (*Table, error) {
	loc, err := s.TableLocation(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.TableAt(ctx, id, loc)
}

// LoadTableRaw is LoadTable for an answer that sends the metadata file's
// bytes as they are (see warehouse.ReadServable).
func (s *Service) LoadTableRaw(ctx context.Context, id ice.TableIdent) (*TableFile, error) {
	loc, err := s.TableLocation(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.TableRawAt(ctx, id, loc)
}

// TableRawAt is TableAt for an answer that sends the metadata file's bytes
// as they are.
func (s *Service) TableRawAt(ctx context.Context, id ice.TableIdent, location string) (*TableFile, error) {
	md, err := s.files.ReadServable(ctx, location)
	if err != nil {
		return nil, fmt.Errorf("load table %s: %w", id, err)
	}
	return &TableFile{ID: id, Location: location, Metadata: md}, nil
}

// TableAt returns the table with the metadata at location: one the caller
// has just read from the table's pointer (TableLocation), or one a recorded
// commit left (an idempotent replay). Metadata files are never rewritten,
// so the answer is the one the table had at that location.
func (s *Service) TableAt(ctx context.Context, id ice.TableIdent, location string) (*Table, error) {
	md, err := s.files.ReadMetadata(ctx, location)
	if err != nil {
		return nil, fmt.Errorf("load table %s: %w", id, err)
	}
	return &Table{ID: id, Location: location, Metadata: md}, nil
}

// TableLocation returns the table's current metadata location; it reads no
// metadata, for answers that depend on the pointer alone (ETags).
func (s *Service) TableLocation(ctx context.Context, id ice.TableIdent) (string, error) {
	if err := ice.ValidateTableIdent(id); err != nil {
		return "", err
	}
	ptr, err := s.store.LoadTable(ctx, id)
	if err != nil {
		return "", err
	}
	return ptr.MetadataLocation, nil
}

// TableExists reports whether the table has an entry; it reads no metadata.
func (s *Service) TableExists(ctx context.Context, id ice.TableIdent) (bool, error) {
	return s.entryExists(ctx, s.tables(), id)
}

// ListTables lists the tables of ns.
func (s *Service) ListTables(ctx context.Context, ns ice.Namespace, page ice.Page) ([]ice.TableIdent, string, error) {
	return s.listEntries(ctx, s.tables(), ns, page)
}

// CreateTable creates a table, or with StageCreate only returns the metadata
// it would have, for a later commit with assert-create.
func (s *Service) CreateTable(ctx context.Context, ns ice.Namespace, req CreateTable) (*Table, error) {
	id := ice.TableIdent{Namespace: ns, Name: req.Name}
	if err := ice.ValidateNewTableIdent(id); err != nil {
		return nil, err
	}
	if req.Schema == nil {
		return nil, ice.Errorf(ice.EINVALID, "createTable requires a schema")
	}
	nsEntry, err := s.store.LoadNamespace(ctx, ns)
	if err != nil {
		return nil, err
	}
	if exists, err := s.TableExists(ctx, id); err != nil {
		return nil, err
	} else if exists {
		return nil, tableExists(id)
	}
	loc := strings.TrimRight(req.Location, "/")
	if loc == "" {
		loc = s.rule.DefaultTableLocation(id, nsEntry.Properties)
		// A soft-dropped table of the same name keeps its location; the
		// new one gets a location of its own beside it.
		if r, err := s.reservedBy(ctx, loc); err != nil {
			return nil, err
		} else if r != "" {
			loc += "-" + newDeletedID()
		}
	} else if err := s.checkNotReserved(ctx, loc); err != nil {
		return nil, err
	}
	tableLoc, err := s.newTableLocation(ctx, id, nsEntry.Properties, loc)
	if err != nil {
		return nil, err
	}
	spec := req.Spec
	if spec == nil {
		spec = iceberg.UnpartitionedSpec
	}
	order := table.UnsortedSortOrder
	if req.SortOrder != nil {
		order = *req.SortOrder
	}
	md, err := table.NewMetadata(req.Schema, spec, order, loc, req.Properties)
	if err != nil {
		return nil, ice.Invalid("invalid table definition: %w", err)
	}
	if err := checkTableFiles(tableLoc, md, nil, ""); err != nil {
		return nil, err
	}
	if req.StageCreate {
		raw, err := json.Marshal(md)
		if err != nil {
			return nil, fmt.Errorf("encode staged metadata: %w", err)
		}
		return &Table{ID: id, Metadata: &warehouse.Metadata{MetadataFile: warehouse.MetadataFile{Raw: raw, TableLocation: md.Location()}, Parsed: md}}, nil
	}
	newLoc, err := newMetadataLocation(md, "")
	if err != nil {
		return nil, err
	}
	if err := ice.CheckPath(tableLoc, newLoc); err != nil {
		return nil, refused("metadata file", err)
	}
	written, err := s.files.WriteMetadata(ctx, newLoc, md, nil)
	if err != nil {
		return nil, err
	}
	err = s.store.SwapTables(ctx, []ice.TableSwap{{ID: id, NewLocation: newLoc, ClaimLocation: tableLoc.Key()}}, nil)
	if err != nil {
		err = s.failedCreate(ctx, id, newLoc, err)
		if req.Location == "" && ice.ErrorCode(err) == ice.EINVALID {
			// The default location is taken, by a table renamed away
			// from this name, say: place the new one beside it.
			req.Location = uniqueBeside(loc)
			return s.CreateTable(ctx, ns, req)
		}
		return nil, err
	}
	return &Table{ID: id, Location: newLoc, Metadata: written}, nil
}

// RegisterTable points a table at an existing metadata file. With overwrite
// an existing table is repointed.
func (s *Service) RegisterTable(ctx context.Context, id ice.TableIdent, metadataLocation string, overwrite bool) (*Table, error) {
	validate := ice.ValidateNewTableIdent
	if overwrite { // may replace an entry whose name predates the rules for new names
		validate = ice.ValidateTableIdent
	}
	if err := validate(id); err != nil {
		return nil, err
	}
	if metadataLocation == "" {
		return nil, ice.Errorf(ice.EINVALID, "register requires metadata-location")
	}
	nsEntry, err := s.store.LoadNamespace(ctx, id.Namespace)
	if err != nil {
		return nil, err
	}
	md, tableLoc, err := s.readRegistered(ctx, id, metadataLocation, nsEntry.Properties)
	if err != nil {
		return nil, err
	}
	// A dropped table's files may still be undropped or purged: a second
	// table on them would lose its files to that purge.
	if err := s.checkNotReserved(ctx, md.TableLocation); err != nil {
		return nil, err
	}
	var base ice.TablePointer
	switch cur, err := s.store.LoadTable(ctx, id); {
	case err == nil && !overwrite:
		return nil, tableExists(id)
	case err == nil:
		base = cur
	case ice.ErrorCode(err) != ice.ENOTFOUND:
		return nil, err
	}
	if err := s.store.SwapTables(ctx, []ice.TableSwap{{ID: id, Base: base, NewLocation: metadataLocation, ClaimLocation: tableLoc.Key()}}, nil); err != nil {
		if ice.ErrorCode(err) == ice.ECONFLICT {
			return nil, ice.CommitFailed("table %s changed while it was being registered; retry", id)
		}
		return nil, err
	}
	return &Table{ID: id, Location: metadataLocation, Metadata: md}, nil
}

// DropTable removes the table's entry; with purge it then deletes the files
// its metadata references. The entry goes first: a purge that fails halfway
// leaves unreferenced files, never a table pointing at missing ones.
func (s *Service) DropTable(ctx context.Context, id ice.TableIdent, purge bool) error {
	if err := ice.ValidateTableIdent(id); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		ptr, err := s.store.LoadTable(ctx, id)
		if err != nil {
			return err
		}
		err = s.dropTableEntry(ctx, id, ptr, purge)
		if ice.ErrorCode(err) == ice.ECONFLICT && attempt < s.retries {
			continue // a commit landed; drop the newer state
		}
		if err != nil {
			return err
		}
		if purge {
			s.purge(ctx, id, ptr.MetadataLocation)
		}
		return nil
	}
}

// dropTableEntry deletes the entry, or without purge and with soft drop on
// for its namespace moves it to the deleted area.
func (s *Service) dropTableEntry(ctx context.Context, id ice.TableIdent, ptr ice.TablePointer, purge bool) error {
	if !purge {
		soft, retention, err := s.softDropFor(ctx, id.Namespace)
		if err != nil {
			return err
		}
		if soft {
			md, err := s.files.ReadMetadata(ctx, ptr.MetadataLocation)
			if err != nil {
				return fmt.Errorf("drop table %s: read its metadata for the deleted entry: %w", id, err)
			}
			return s.moveToDeleted(ctx, ice.KindTable, id, ptr, md.TableLocation, retention)
		}
	}
	return s.store.DropTable(ctx, id, ptr)
}

// UnregisterTable removes the table's entry and never deletes a file: the
// table can then be registered in another catalog from the location and
// metadata returned. The metadata is read before the entry is removed, and
// the removal is conditional on the entry's revision, so what is returned is
// exactly the state that was unregistered, with every earlier commit in it.
func (s *Service) UnregisterTable(ctx context.Context, id ice.TableIdent) (*Table, error) {
	if err := ice.ValidateTableIdent(id); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		ptr, err := s.store.LoadTable(ctx, id)
		if err != nil {
			return nil, err
		}
		md, err := s.files.ReadMetadata(ctx, ptr.MetadataLocation)
		if err != nil {
			return nil, fmt.Errorf("unregister table %s: %w", id, err)
		}
		err = s.store.DropTable(ctx, id, ptr)
		if ice.ErrorCode(err) == ice.ECONFLICT && attempt < s.retries {
			continue // a commit landed; unregister the newer state
		}
		if err != nil {
			return nil, err
		}
		return &Table{ID: id, Location: ptr.MetadataLocation, Metadata: md}, nil
	}
}

func (s *Service) purge(ctx context.Context, id ice.TableIdent, metadataLocation string) {
	md, err := s.files.ReadMetadata(ctx, metadataLocation)
	if err != nil {
		s.log.WarnContext(ctx, "table dropped, but its metadata could not be read for the purge", "table", id.String(), "metadata", metadataLocation, "err", err)
		return
	}
	tableLoc, err := s.CheckStoredLocation(md.TableLocation)
	if err != nil {
		s.log.WarnContext(ctx, "table dropped, but its location is outside the allowed area: nothing purged", "table", id.String(), "location", md.TableLocation, "err", err)
		return
	}
	if err := s.files.Purge(ctx, md, tableLoc); err != nil {
		s.log.WarnContext(ctx, "table dropped, but some of its files could not be purged", "table", id.String(), "err", err)
		return
	}
	s.log.InfoContext(ctx, "table purged", "table", id.String(), "metadata", metadataLocation)
}

// RenameTable moves a table to a new identifier.
func (s *Service) RenameTable(ctx context.Context, from, to ice.TableIdent) error {
	return s.renameEntry(ctx, s.tables(), from, to)
}

// uniqueBeside is loc with a random suffix, for a default location that
// another table or view already holds.
func uniqueBeside(loc string) string {
	return strings.TrimRight(loc, "/") + "-" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
}

// readRegistered reads a metadata file a client asks to register, and
// checks it and the table location it names. Every file that cannot be
// registered (outside the allowed area, missing, not a regular file, too
// large, a decompression bomb, not Iceberg table metadata) gets the same
// answer, so the answers tell nothing about files the client cannot reach,
// and the log records the cause without the file's contents. The location
// is checked before any I/O.
func (s *Service) readRegistered(ctx context.Context, id ice.TableIdent, metadataLocation string, nsProps map[string]string) (*warehouse.Metadata, ice.Location, error) {
	refuse := func(cause string) error {
		s.log.InfoContext(ctx, "register refused", "table", id.String(), "cause", cause)
		return ice.Invalid("cannot register %s: metadata-location must name a readable Iceberg table metadata file inside the table location, in the table's namespace area or an allowed location", id)
	}
	if _, err := s.CheckStoredLocation(metadataLocation); err != nil {
		return nil, ice.Location{}, refuse("outside the allowed locations")
	}
	md, err := s.files.ReadMetadata(ctx, metadataLocation)
	if err != nil {
		if ice.ErrorCode(err) == ice.EUNAVAILABLE {
			return nil, ice.Location{}, err
		}
		return nil, ice.Location{}, refuse(string(ice.ErrorCode(err)))
	}
	tableLoc, err := s.newTableLocation(ctx, id, nsProps, md.Parsed.Location())
	if err != nil {
		return nil, ice.Location{}, err
	}
	if err := checkTableFiles(tableLoc, md.Parsed, nil, metadataLocation); err != nil {
		return nil, ice.Location{}, err
	}
	return md, tableLoc, nil
}

// failedCreate explains why a create's swap failed and cleans up the
// metadata file it wrote when the failure is certain.
func (s *Service) failedCreate(ctx context.Context, id ice.TableIdent, newLoc string, err error) error {
	if ice.ErrorCode(err) == ice.EUNKNOWNSTATE {
		return err // the file may be referenced: keep it
	}
	s.discard(ctx, newLoc)
	if ice.ErrorCode(err) != ice.ECONFLICT {
		return err
	}
	if ok, nerr := s.store.NamespaceExists(ctx, id.Namespace); nerr == nil && !ok {
		return ice.NoSuchNamespace(id.Namespace)
	}
	return tableExists(id)
}
