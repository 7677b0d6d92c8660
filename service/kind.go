package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	ice "github.com/ice-rest-catalog/ice"
)

// kind parameterises the paths tables and views share: existence, rename,
// the commit's retry loop, the resolution of a lost answer and the naming
// of metadata files. Where the two differ, the kind says how.
type kind struct {
	name   string // ice.KindTable or ice.KindView
	load   func(context.Context, ice.TableIdent) (ice.TablePointer, error)
	list   func(context.Context, ice.Namespace, ice.Page) ([]ice.TableIdent, string, error)
	rename func(ctx context.Context, from, to ice.TableIdent) error
	noSuch func(ice.TableIdent) *ice.Error
	exists func(ice.TableIdent) error
	// moved resolves a lost swap whose entry moved past its base: it may
	// have applied with other commits on top.
	moved func(ctx context.Context, sw ice.TableSwap, cur ice.TablePointer, cause error) error
	// dropped, when set, is the outcome of a lost swap whose entry is gone;
	// unset, the outcome stays unknown.
	dropped func(ice.TableIdent) error
}

func (s *Service) tables() kind {
	return kind{name: ice.KindTable, load: s.store.LoadTable, list: s.store.ListTables, rename: s.store.RenameTable,
		noSuch: ice.NoSuchTable, exists: tableExists, moved: s.resolveMoved}
}

func (s *Service) views() kind {
	return kind{name: ice.KindView, load: s.store.LoadView, list: s.store.ListViews, rename: s.store.RenameView,
		noSuch: ice.NoSuchView, exists: viewExists,
		// A view's metadata keeps no log of its files: a pointer that
		// moved is taken as a lost race.
		moved: func(_ context.Context, sw ice.TableSwap, _ ice.TablePointer, _ error) error {
			return ice.CommitFailed("a concurrent commit changed view %s first", sw.ID)
		},
		dropped: func(id ice.TableIdent) error { return ice.CommitFailed("view %s was dropped concurrently", id) },
	}
}

func tableExists(id ice.TableIdent) error { return ice.AlreadyExists("Table already exists: %s", id) }
func viewExists(id ice.TableIdent) error  { return ice.AlreadyExists("View already exists: %s", id) }

// entryExists reports whether id has an entry of kind k; it reads no metadata.
func (s *Service) entryExists(ctx context.Context, k kind, id ice.TableIdent) (bool, error) {
	if err := ice.ValidateTableIdent(id); err != nil {
		return false, err
	}
	_, err := k.load(ctx, id)
	if ice.ErrorCode(err) == ice.ENOTFOUND {
		return false, nil
	}
	return err == nil, err
}

// listEntries lists ns's entries of kind k.
func (s *Service) listEntries(ctx context.Context, k kind, ns ice.Namespace, page ice.Page) ([]ice.TableIdent, string, error) {
	if err := ice.ValidateNamespace(ns); err != nil {
		return nil, "", err
	}
	return k.list(ctx, ns, page)
}

// renameEntry moves an entry of kind k to a new identifier.
func (s *Service) renameEntry(ctx context.Context, k kind, from, to ice.TableIdent) error {
	if err := ice.ValidateTableIdent(from); err != nil {
		return err
	}
	if err := ice.ValidateNewTableIdent(to); err != nil {
		return err
	}
	if from.String() == to.String() { // levels hold no '.', so the text form is the identifier
		// The destination exists: it is the source. etcd would refuse
		// the move as a Txn that deletes and puts one key.
		if ok, err := s.entryExists(ctx, k, from); err != nil {
			return err
		} else if !ok {
			return k.noSuch(from)
		}
		return k.exists(to)
	}
	return k.rename(ctx, from, to)
}

// build applies each update in order to b, iceberg-go's table or view
// metadata builder (err: the error making it), and builds the result.
func build[M any, B interface{ Build() (M, error) }, U interface{ Apply(B) error }](b B, err error, updates []U) (M, error) {
	var none M
	if err != nil {
		return none, err
	}
	for _, u := range updates {
		if err := u.Apply(b); err != nil {
			return none, err
		}
	}
	return b.Build()
}

// attempt is one try of a commit, of tables or of a view: what was staged
// from a fresh base and written, waiting for the pointer swap.
type attempt interface {
	// swap swaps the pointers, resolving a lost answer where it can.
	swap(ctx context.Context) error
	// discard deletes the files the attempt wrote; no pointer references them.
	discard(ctx context.Context)
	// entries names what the attempt commits, for the log.
	entries() []string
}

// retryCommit is the commit path's loop, for tables and views alike: stage
// from the current base (stage checks the requirements and writes the new
// metadata), swap, and after a lost race (ECONFLICT) start again from the
// fresh base while the retry policy allows, waiting with wait in between.
// So a commit that landed in between is never overwritten. The files of an
// attempt whose outcome is unknown stay: they may be referenced.
func retryCommit[A attempt](ctx context.Context, s *Service, k kind, stage func(retry bool) (A, error), wait func(attempt int) error) (A, error) {
	var none A
	started := time.Now()
	for n := 0; ; n++ {
		a, err := stage(n > 0)
		if err != nil {
			return none, err
		}
		err = a.swap(ctx)
		switch {
		case err == nil:
			return a, nil
		case ice.ErrorCode(err) == ice.ECONFLICT && s.retry.allows(n, started):
			a.discard(ctx)
			if err := wait(n); err != nil {
				return none, err
			}
		case ice.ErrorCode(err) == ice.EUNKNOWNSTATE:
			s.log.ErrorContext(ctx, "commit outcome unknown", "kind", k.name, "entries", a.entries(), "err", err)
			return none, err
		default:
			a.discard(ctx)
			if ice.ErrorCode(err) == ice.ECONFLICT {
				return none, ice.CommitFailed("the %s kept changing concurrently; gave up after %d attempts", k.name, n+1)
			}
			return none, err
		}
	}
}

// resolveUnknown decides, where it can, whether a swap whose answer was lost
// was applied. If the pointer still shows the base, the transaction may yet
// apply: the state stays unknown. If it moved, the transaction can never
// apply any more, but it may already have, with other commits landing on top
// of it: k.moved tells.
func (s *Service) resolveUnknown(ctx context.Context, k kind, sw ice.TableSwap, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	cur, err := k.load(ctx, sw.ID)
	switch {
	case err == nil && cur.MetadataLocation == sw.NewLocation:
		return nil
	case err == nil && cur.Revision != sw.Base.Revision:
		return k.moved(ctx, sw, cur, cause)
	case ice.ErrorCode(err) == ice.ENOTFOUND && k.dropped != nil:
		return k.dropped(sw.ID)
	}
	// Unreadable, or dropped (whether our commit came before the drop is
	// lost with the entry), or unmoved.
	return ice.CommitStateUnknown(cause)
}

// nextMetadataFile names the next metadata file of a table or view (what)
// <metadata dir>/<version>-<uuid><ext>, where the directory is
// write.metadata.path or <location>/metadata and the version one more than
// the base file's (fallback when the base's name has none; 0 for a new
// entry). Names are joined literally: iceberg-go's location provider would
// %-escape a name with a space, '%' or non-ASCII characters in the metadata
// file's location but not in the table's, and unescape "%41" to "A", so two
// tables could share a directory (issue 14).
func nextMetadataFile(what string, props map[string]string, location, baseLocation string, fallback int, ext string) (string, error) {
	dir := strings.TrimRight(props[metadataPathKey], "/")
	if dir == "" {
		if location == "" {
			return "", ice.Errorf(ice.EINVALID, "%s has no location", what)
		}
		dir = strings.TrimRight(location, "/") + "/metadata"
	}
	version := 0
	if baseLocation != "" {
		version = fallback
		if v, _, ok := ice.MetadataFileVersion(baseLocation); ok {
			version = v + 1
		}
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return "", fmt.Errorf("%s metadata file name: %w", what, err)
	}
	return fmt.Sprintf("%s/%05d-%s%s", dir, version, id, ext), nil
}

// metadataPathKey is Iceberg's property for where a table's or a view's
// metadata files go (TableProperties.WRITE_METADATA_LOCATION,
// ViewProperties.WRITE_METADATA_LOCATION).
const metadataPathKey = "write.metadata.path"
