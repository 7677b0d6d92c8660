package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/view"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// View is a view as the catalog serves it: its pointer and metadata.
type View struct {
	ID       ice.TableIdent
	Location string // metadata file location
	Metadata *warehouse.ViewMetadata
}

// CreateView describes a createView request.
type CreateView struct {
	Name       string
	Location   string
	Schema     *iceberg.Schema
	Version    *view.Version
	Properties map[string]string
}

// ViewChange is a replaceView request: requirements checked against the
// current metadata, then updates applied with iceberg-go's view builder.
type ViewChange struct {
	ID           ice.TableIdent
	Requirements view.Requirements
	Updates      view.Updates
}

// LoadView returns the view's current pointer and metadata.
func (s *Service) LoadView(ctx context.Context, id ice.TableIdent) (*View, error) {
	if err := ice.ValidateTableIdent(id); err != nil {
		return nil, err
	}
	ptr, err := s.store.LoadView(ctx, id)
	if err != nil {
		return nil, err
	}
	md, err := s.files.ReadViewMetadata(ctx, ptr.MetadataLocation)
	if err != nil {
		return nil, fmt.Errorf("load view %s: %w", id, err)
	}
	return &View{ID: id, Location: ptr.MetadataLocation, Metadata: md}, nil
}

// ViewExists reports whether the view has an entry; it reads no metadata.
func (s *Service) ViewExists(ctx context.Context, id ice.TableIdent) (bool, error) {
	return s.entryExists(ctx, s.views(), id)
}

// ListViews lists the views of ns.
func (s *Service) ListViews(ctx context.Context, ns ice.Namespace, page ice.Page) ([]ice.TableIdent, string, error) {
	return s.listEntries(ctx, s.views(), ns, page)
}

// CreateView writes the view's first metadata file and creates its entry.
// The store refuses the entry if a view or table already holds the name.
func (s *Service) CreateView(ctx context.Context, ns ice.Namespace, req CreateView) (*View, error) {
	id := ice.TableIdent{Namespace: ns, Name: req.Name}
	if err := ice.ValidateNewTableIdent(id); err != nil {
		return nil, err
	}
	if req.Schema == nil || req.Version == nil {
		return nil, ice.Errorf(ice.EINVALID, "createView requires a schema and a view-version")
	}
	nsEntry, err := s.store.LoadNamespace(ctx, ns)
	if err != nil {
		return nil, err
	}
	loc := strings.TrimRight(req.Location, "/")
	if loc == "" {
		loc = s.rule.DefaultTableLocation(id, nsEntry.Properties)
	}
	viewLoc, err := s.newTableLocation(ctx, id, nsEntry.Properties, loc)
	if err != nil {
		return nil, err
	}
	// NewMetadata assigns the schema its id and points the version at it,
	// as the spec asks of the server.
	md, err := view.NewMetadata(req.Version, req.Schema, loc, req.Properties)
	if err != nil {
		return nil, ice.Invalid("invalid view definition: %w", err)
	}
	newLoc, err := newViewMetadataLocation(md, "")
	if err != nil {
		return nil, err
	}
	if err := checkViewFiles(viewLoc, md, newLoc); err != nil {
		return nil, err
	}
	written, err := s.files.WriteViewMetadata(ctx, newLoc, md)
	if err != nil {
		return nil, err
	}
	if err := s.store.SwapView(ctx, ice.ViewSwap{ID: id, NewLocation: newLoc, ClaimLocation: viewLoc.Key()}); err != nil {
		if ice.ErrorCode(err) != ice.EUNKNOWNSTATE { // else the file may be referenced: keep it
			s.discard(ctx, newLoc)
		}
		if req.Location == "" && ice.ErrorCode(err) == ice.EINVALID {
			req.Location = uniqueBeside(loc) // the default location is taken
			return s.CreateView(ctx, ns, req)
		}
		return nil, err
	}
	return &View{ID: id, Location: newLoc, Metadata: written}, nil
}

// RegisterView creates a view entry pointing at an existing metadata file.
func (s *Service) RegisterView(ctx context.Context, id ice.TableIdent, metadataLocation string) (*View, error) {
	if err := ice.ValidateNewTableIdent(id); err != nil {
		return nil, err
	}
	if metadataLocation == "" {
		return nil, ice.Errorf(ice.EINVALID, "register-view requires metadata-location")
	}
	nsEntry, err := s.store.LoadNamespace(ctx, id.Namespace)
	if err != nil {
		return nil, err
	}
	refuse := func(cause string) error {
		s.log.InfoContext(ctx, "register view refused", "view", id.String(), "cause", cause)
		return ice.Invalid("cannot register view %s: metadata-location must name a readable Iceberg view metadata file inside the view location, in the view's namespace area or an allowed location", id)
	}
	if _, err := s.CheckStoredLocation(metadataLocation); err != nil {
		return nil, refuse("outside the allowed locations")
	}
	md, err := s.files.ReadViewMetadata(ctx, metadataLocation)
	if err != nil {
		if ice.ErrorCode(err) == ice.EUNAVAILABLE {
			return nil, err
		}
		return nil, refuse(string(ice.ErrorCode(err)))
	}
	viewLoc, err := s.newTableLocation(ctx, id, nsEntry.Properties, md.Parsed.Location())
	if err != nil {
		return nil, err
	}
	if err := checkViewFiles(viewLoc, md.Parsed, metadataLocation); err != nil {
		return nil, err
	}
	if err := s.store.SwapView(ctx, ice.ViewSwap{ID: id, NewLocation: metadataLocation, ClaimLocation: viewLoc.Key()}); err != nil {
		return nil, err
	}
	return &View{ID: id, Location: metadataLocation, Metadata: md}, nil
}

// DropView removes the view's entry. Its metadata files stay: the spec has
// no purge for views, and another catalog may have registered them.
func (s *Service) DropView(ctx context.Context, id ice.TableIdent) error {
	if err := ice.ValidateTableIdent(id); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		ptr, err := s.store.LoadView(ctx, id)
		if err != nil {
			return err
		}
		err = s.dropViewEntry(ctx, id, ptr)
		if ice.ErrorCode(err) == ice.ECONFLICT && attempt < s.retries {
			continue // a replace landed; drop the newer state
		}
		return err
	}
}

// RenameView moves a view to a new identifier.
func (s *Service) RenameView(ctx context.Context, from, to ice.TableIdent) error {
	return s.renameEntry(ctx, s.views(), from, to)
}

// ReplaceView commits a view change as CommitTable does a table's (the same
// retryCommit): read the pointer and metadata, check the requirements,
// apply the updates, write a new metadata file and swap the pointer if its
// revision did not move. A lost race is retried from a fresh base, where
// the requirements are checked again.
func (s *Service) ReplaceView(ctx context.Context, ch ViewChange) (*View, error) {
	if err := ice.ValidateTableIdent(ch.ID); err != nil {
		return nil, err
	}
	c, err := retryCommit(ctx, s, s.views(), func(retry bool) (*viewCommit, error) {
		return s.stageView(ctx, ch, retry)
	}, func(attempt int) error { return s.retry.wait(ctx, attempt) })
	if err != nil {
		return nil, err
	}
	if c.written == nil {
		return &View{ID: ch.ID, Location: c.current.Location, Metadata: c.current}, nil
	}
	return &View{ID: ch.ID, Location: c.written.Location, Metadata: c.written}, nil
}

// viewCommit is one attempt of a view's commit: the base, its metadata and
// the metadata written from it (nil when there are no updates: current is
// the result).
type viewCommit struct {
	s                *Service
	id               ice.TableIdent
	base             ice.ViewPointer
	current, written *warehouse.ViewMetadata
	claim            string // the view location's key, when it is new
}

func (c *viewCommit) swap(ctx context.Context) error {
	if c.written == nil {
		return nil
	}
	sw := ice.ViewSwap{ID: c.id, Base: c.base, NewLocation: c.written.Location, ClaimLocation: c.claim}
	err := c.s.store.SwapView(ctx, sw)
	if ice.ErrorCode(err) == ice.EUNKNOWNSTATE {
		err = c.s.resolveUnknown(ctx, c.s.views(), sw, err)
	}
	return err
}

func (c *viewCommit) discard(ctx context.Context) {
	if c.written != nil {
		c.s.discard(ctx, c.written.Location)
	}
}

func (c *viewCommit) entries() []string { return []string{c.id.String()} }

// stageView reads the base, checks the requirements and writes the updated
// metadata.
func (s *Service) stageView(ctx context.Context, ch ViewChange, retry bool) (*viewCommit, error) {
	base, err := s.store.LoadView(ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	c := &viewCommit{s: s, id: ch.ID, base: base}
	c.current, err = s.files.ReadViewMetadata(ctx, base.MetadataLocation)
	if err != nil {
		return nil, fmt.Errorf("load view %s: %w", ch.ID, err)
	}
	for _, req := range ch.Requirements {
		if err := req.Validate(c.current.Parsed); err != nil {
			return nil, ice.CommitFailed("requirement failed for view %s: %w", ch.ID, err)
		}
	}
	if len(ch.Updates) == 0 {
		return c, nil
	}
	updated, err := applyViewUpdates(c.current.Parsed, ch.Updates)
	if err != nil {
		if retry {
			return nil, ice.CommitFailed("updates for view %s no longer apply after a concurrent commit: %w", ch.ID, err)
		}
		return nil, ice.Invalid("invalid updates for view %s: %w", ch.ID, err)
	}
	newLoc, err := newViewMetadataLocation(updated, base.MetadataLocation)
	if err != nil {
		return nil, err
	}
	var viewLoc ice.Location
	if updated.Location() != c.current.Parsed.Location() {
		if viewLoc, err = s.newTableLocation(ctx, ch.ID, nil, updated.Location()); err != nil {
			return nil, err
		}
		c.claim = viewLoc.Key()
	} else if viewLoc, err = ice.ParseLocation(updated.Location()); err != nil {
		return nil, err
	}
	if err := checkViewFiles(viewLoc, updated, newLoc); err != nil {
		return nil, err
	}
	c.written, err = s.files.WriteViewMetadata(ctx, newLoc, updated)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func applyViewUpdates(base view.Metadata, updates view.Updates) (view.Metadata, error) {
	b, err := view.MetadataBuilderFromBase(base)
	res, err := build[*view.MetadataBuildResult](b, err, updates)
	if err != nil {
		return nil, err
	}
	return res.Metadata, nil
}

// newViewMetadataLocation names the view's next metadata file
// (nextMetadataFile); a view's metadata is never compressed.
func newViewMetadataLocation(md view.Metadata, baseLocation string) (string, error) {
	return nextMetadataFile(ice.KindView, md.Properties(), md.Location(), baseLocation, 0, ".metadata.json")
}

// checkViewFiles checks that a view's metadata file and its
// write.metadata.path lie inside the view's location.
func checkViewFiles(l ice.Location, md view.Metadata, metadataLoc string) error {
	if err := ice.CheckPath(l, metadataLoc); err != nil {
		return refused("metadata file", err)
	}
	if p, ok := md.Properties()[metadataPathKey]; ok {
		if err := ice.CheckPath(l, strings.TrimRight(p, "/")); err != nil {
			return refused("property "+metadataPathKey, err)
		}
	}
	return nil
}

// dropViewEntry deletes the entry, or with soft drop on for its namespace
// moves it to the deleted area.
func (s *Service) dropViewEntry(ctx context.Context, id ice.TableIdent, ptr ice.ViewPointer) error {
	soft, retention, err := s.softDropFor(ctx, id.Namespace)
	if err != nil {
		return err
	}
	if soft {
		md, err := s.files.ReadViewMetadata(ctx, ptr.MetadataLocation)
		if err != nil {
			return fmt.Errorf("drop view %s: read its metadata for the deleted entry: %w", id, err)
		}
		return s.moveToDeleted(ctx, ice.KindView, id, ptr, md.Parsed.Location(), retention)
	}
	return s.store.DropView(ctx, id, ptr)
}
