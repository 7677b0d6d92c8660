package service

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/view"
	"github.com/google/uuid"

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
	if err := ice.ValidateTableIdent(id); err != nil {
		return false, err
	}
	_, err := s.store.LoadView(ctx, id)
	if ice.ErrorCode(err) == ice.ENOTFOUND {
		return false, nil
	}
	return err == nil, err
}

// ListViews lists the views of ns.
func (s *Service) ListViews(ctx context.Context, ns ice.Namespace, page ice.Page) ([]ice.TableIdent, string, error) {
	if err := ice.ValidateNamespace(ns); err != nil {
		return nil, "", err
	}
	return s.store.ListViews(ctx, ns, page)
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
	if err := ice.ValidateTableIdent(from); err != nil {
		return err
	}
	if err := ice.ValidateNewTableIdent(to); err != nil {
		return err
	}
	if from.String() == to.String() { // see RenameTable
		if ok, err := s.ViewExists(ctx, from); err != nil {
			return err
		} else if !ok {
			return ice.NoSuchView(from)
		}
		return ice.AlreadyExists("View already exists: %s", to)
	}
	return s.store.RenameView(ctx, from, to)
}

// ReplaceView commits a view change as CommitTable does a table's: read the
// pointer and metadata, check the requirements, apply the updates, write a
// new metadata file and swap the pointer if its revision did not move. A
// lost race is retried from a fresh base, where the requirements are
// checked again.
func (s *Service) ReplaceView(ctx context.Context, ch ViewChange) (*View, error) {
	if err := ice.ValidateTableIdent(ch.ID); err != nil {
		return nil, err
	}
	started := time.Now()
	for attempt := 0; ; attempt++ {
		base, current, written, claim, err := s.stageView(ctx, ch, attempt > 0)
		if err != nil {
			return nil, err
		}
		if written == nil {
			return &View{ID: ch.ID, Location: current.Location, Metadata: current}, nil
		}
		swap := ice.ViewSwap{ID: ch.ID, Base: base, NewLocation: written.Location, ClaimLocation: claim}
		err = s.store.SwapView(ctx, swap)
		if ice.ErrorCode(err) == ice.EUNKNOWNSTATE {
			err = s.resolveUnknownView(ctx, swap, err)
		}
		switch {
		case err == nil:
			return &View{ID: ch.ID, Location: written.Location, Metadata: written}, nil
		case ice.ErrorCode(err) == ice.ECONFLICT && s.retry.allows(attempt, started):
			s.discard(ctx, written.Location)
			if err := s.retry.wait(ctx, attempt); err != nil {
				return nil, err
			}
		case ice.ErrorCode(err) == ice.EUNKNOWNSTATE:
			// The new file may be referenced: it stays.
			s.log.ErrorContext(ctx, "view commit outcome unknown", "view", ch.ID.String(), "err", err)
			return nil, err
		default:
			s.discard(ctx, written.Location)
			if ice.ErrorCode(err) == ice.ECONFLICT {
				return nil, ice.CommitFailed("the view kept changing concurrently; gave up after %d attempts", attempt+1)
			}
			return nil, err
		}
	}
}

// stageView reads the base, checks the requirements and writes the updated
// metadata. written is nil when there are no updates: current is the result.
func (s *Service) stageView(ctx context.Context, ch ViewChange, retry bool) (base ice.ViewPointer, current, written *warehouse.ViewMetadata, claim string, err error) {
	base, err = s.store.LoadView(ctx, ch.ID)
	if err != nil {
		return base, nil, nil, "", err
	}
	current, err = s.files.ReadViewMetadata(ctx, base.MetadataLocation)
	if err != nil {
		return base, nil, nil, "", fmt.Errorf("load view %s: %w", ch.ID, err)
	}
	for _, req := range ch.Requirements {
		if err := req.Validate(current.Parsed); err != nil {
			return base, nil, nil, "", ice.CommitFailed("requirement failed for view %s: %w", ch.ID, err)
		}
	}
	if len(ch.Updates) == 0 {
		return base, current, nil, "", nil
	}
	updated, err := applyViewUpdates(current.Parsed, ch.Updates)
	if err != nil {
		if retry {
			return base, nil, nil, "", ice.CommitFailed("updates for view %s no longer apply after a concurrent commit: %w", ch.ID, err)
		}
		return base, nil, nil, "", ice.Invalid("invalid updates for view %s: %w", ch.ID, err)
	}
	newLoc, err := newViewMetadataLocation(updated, base.MetadataLocation)
	if err != nil {
		return base, nil, nil, "", err
	}
	var viewLoc ice.Location
	if updated.Location() != current.Parsed.Location() {
		if viewLoc, err = s.newTableLocation(ctx, ch.ID, nil, updated.Location()); err != nil {
			return base, nil, nil, "", err
		}
		claim = viewLoc.Key()
	} else if viewLoc, err = ice.ParseLocation(updated.Location()); err != nil {
		return base, nil, nil, "", err
	}
	if err := checkViewFiles(viewLoc, updated, newLoc); err != nil {
		return base, nil, nil, "", err
	}
	written, err = s.files.WriteViewMetadata(ctx, newLoc, updated)
	return base, current, written, claim, err
}

func applyViewUpdates(base view.Metadata, updates view.Updates) (view.Metadata, error) {
	b, err := view.MetadataBuilderFromBase(base)
	if err != nil {
		return nil, err
	}
	for _, u := range updates {
		if err := u.Apply(b); err != nil {
			return nil, err
		}
	}
	res, err := b.Build()
	if err != nil {
		return nil, err
	}
	return res.Metadata, nil
}

// newViewMetadataLocation names the next view metadata file
// <metadata dir>/<version>-<uuid>.metadata.json, the version one more than
// the base file's (0 for a new view). The directory is the view's
// write.metadata.path property if set (as for tables), else
// <view location>/metadata.
func newViewMetadataLocation(md view.Metadata, baseLocation string) (string, error) {
	dir := strings.TrimSuffix(md.Properties()[viewMetadataPathKey], "/")
	if dir == "" {
		if md.Location() == "" {
			return "", ice.Errorf(ice.EINVALID, "view has no location")
		}
		dir = strings.TrimSuffix(md.Location(), "/") + "/metadata"
	}
	version := 0
	if m := metadataVersion.FindStringSubmatch(path.Base(baseLocation)); baseLocation != "" && m != nil {
		if v, err := strconv.Atoi(m[1]); err == nil {
			version = v + 1
		}
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return "", fmt.Errorf("view metadata file name: %w", err)
	}
	return fmt.Sprintf("%s/%05d-%s.metadata.json", dir, version, id), nil
}

// checkViewFiles checks that a view's metadata file and its
// write.metadata.path lie inside the view's location.
func checkViewFiles(l ice.Location, md view.Metadata, metadataLoc string) error {
	if err := ice.CheckPath(l, metadataLoc); err != nil {
		return refused("metadata file", err)
	}
	if p, ok := md.Properties()[viewMetadataPathKey]; ok {
		if err := ice.CheckPath(l, strings.TrimRight(p, "/")); err != nil {
			return refused("property "+viewMetadataPathKey, err)
		}
	}
	return nil
}

// viewMetadataPathKey is Iceberg's property for where a view's metadata
// files go (ViewProperties.WRITE_METADATA_LOCATION), as for tables.
const viewMetadataPathKey = "write.metadata.path"

// resolveUnknownView is resolveUnknown for a view's swap: if the pointer
// moved elsewhere, the lost transaction can never apply any more.
func (s *Service) resolveUnknownView(ctx context.Context, sw ice.ViewSwap, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	cur, err := s.store.LoadView(ctx, sw.ID)
	switch {
	case err == nil && cur.MetadataLocation == sw.NewLocation:
		return nil
	case err == nil && cur.Revision != sw.Base.Revision:
		return ice.CommitFailed("a concurrent commit changed view %s first", sw.ID)
	case ice.ErrorCode(err) == ice.ENOTFOUND:
		return ice.CommitFailed("view %s was dropped concurrently", sw.ID)
	}
	return ice.CommitStateUnknown(cause)
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
