package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/apache/iceberg-go/table"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// TableChange is one table's part of a commit.
type TableChange struct {
	ID           ice.TableIdent
	Requirements table.Requirements
	Updates      table.Updates
	// RepairManifests asks the commit to read the manifests the new
	// snapshots add and repair what other readers need (normalizeSnapshots).
	// It costs a read of each added manifest list and manifest, so the REST
	// layer sets it only for a writer known to leave such gaps (ClickHouse,
	// docs/clients.md); every other commit reads nothing it adds.
	RepairManifests bool
}

// staged is a change applied to a base and written as a new metadata file,
// waiting for the pointer swap.
type staged struct {
	change  TableChange
	base    ice.TablePointer
	written *warehouse.Metadata // the new metadata file; nil for a no-op
	current *warehouse.Metadata // the base metadata, the result of a no-op
	claim   string              // the table location's key, when it is new
}

// CommitTable commits one table's change. See commit.
func (s *Service) CommitTable(ctx context.Context, ch TableChange) (*Table, error) {
	tables, err := s.commit(ctx, []TableChange{ch})
	if err != nil {
		return nil, err
	}
	return tables[0], nil
}

// CommitTransaction commits several tables' changes atomically.
func (s *Service) CommitTransaction(ctx context.Context, changes []TableChange) error {
	if len(changes) == 0 {
		return ice.Errorf(ice.EINVALID, "a transaction needs at least one table change")
	}
	seen := map[string]bool{}
	for _, ch := range changes {
		if seen[ch.ID.String()] {
			return ice.Errorf(ice.EINVALID, "table %s appears more than once in the transaction", ch.ID)
		}
		seen[ch.ID.String()] = true
	}
	_, err := s.commit(ctx, changes)
	return err
}

// commit is the commit path, in order: read each pointer and its revision,
// read the base metadata, validate the requirements, apply the updates with
// iceberg-go, write the new metadata files, then swap every pointer in one
// etcd transaction that succeeds only if no revision moved. A lost race is
// retried from a fresh base, where the requirements are checked again, so a
// commit that landed in between is never overwritten.
func (s *Service) commit(ctx context.Context, changes []TableChange) ([]*Table, error) {
	for _, ch := range changes {
		if err := ice.ValidateTableIdent(ch.ID); err != nil {
			return nil, err
		}
	}
	unlock, err := s.lockTables(ctx, changes)
	if err != nil {
		s.metrics.Commit(outcome(err))
		return nil, err
	}
	defer unlock()
	started := time.Now()
	for attempt := 0; ; attempt++ {
		stages, err := s.stageAll(ctx, changes, attempt > 0)
		if err != nil {
			s.metrics.Commit(outcome(err))
			return nil, err
		}
		swaps := make([]ice.TableSwap, 0, len(stages))
		for _, st := range stages {
			if st.written != nil {
				swaps = append(swaps, ice.TableSwap{ID: st.change.ID, Base: st.base, NewLocation: st.written.Location, ClaimLocation: st.claim})
			}
		}
		if len(swaps) > 0 {
			err = s.store.SwapTables(ctx, swaps, ice.IdempotencyClaimFrom(ctx))
		}
		if ice.ErrorCode(err) == ice.EUNKNOWNSTATE {
			err = s.resolveUnknown(ctx, swaps, err)
		}
		switch {
		case err == nil:
			s.metrics.Commit("ok")
			for _, st := range stages {
				s.deleteRemovedMetadata(ctx, st)
			}
			return results(stages), nil
		case ice.ErrorCode(err) == ice.ECONFLICT && s.retry.allows(attempt, started):
			s.discardAll(ctx, stages)
			s.metrics.CommitRetry()
			if err := s.waitToRetry(ctx, changes, attempt); err != nil {
				s.metrics.Commit(outcome(err))
				return nil, err
			}
			continue
		case ice.ErrorCode(err) == ice.EUNKNOWNSTATE:
			// The new files may be referenced: they stay.
			s.log.ErrorContext(ctx, "commit outcome unknown", "tables", len(swaps), "err", err)
			s.metrics.Commit("unknown")
			return nil, err
		default:
			s.discardAll(ctx, stages)
			s.metrics.Commit(outcome(err))
			if ice.ErrorCode(err) == ice.ECONFLICT {
				return nil, ice.CommitFailed("the table kept changing concurrently; gave up after %d attempts", attempt+1)
			}
			return nil, err
		}
	}
}

// stageAll stages every change; on failure it discards what it wrote.
func (s *Service) stageAll(ctx context.Context, changes []TableChange, retry bool) ([]staged, error) {
	stages := make([]staged, 0, len(changes))
	for i, ch := range changes {
		st, err := s.stage(ctx, ch, retry)
		if err != nil {
			s.discardAll(ctx, stages)
			return nil, err
		}
		for _, o := range stages {
			if st.claim != "" && o.claim != "" && overlap(st.claim, o.claim) {
				s.discardAll(ctx, append(stages, st))
				return nil, ice.Errorf(ice.EINVALID, "the locations of %s and %s overlap; table locations must not overlap", o.change.ID, ch.ID)
			}
		}
		changes[i] = st.change // with normalised snapshots, for a retry
		stages = append(stages, st)
	}
	return stages, nil
}

func (s *Service) stage(ctx context.Context, ch TableChange, retry bool) (staged, error) {
	base, baseMd, err := s.loadBase(ctx, ch)
	if err != nil {
		return staged{}, err
	}
	var current table.Metadata
	if baseMd != nil {
		current = baseMd.Parsed
	}
	if err := requirementsHold(ch, current); err != nil {
		return staged{}, err
	}
	st := staged{change: ch, base: base, current: baseMd}
	st.change.Updates = ch.Updates
	if len(ch.Updates) == 0 {
		if baseMd == nil {
			return staged{}, ice.Errorf(ice.EINVALID, "creating %s requires updates", ch.ID)
		}
		return st, nil // nothing to write: the result is the current state
	}
	updated, err := applyUpdates(current, base.MetadataLocation, ch.Updates)
	if err != nil {
		if retry {
			// The updates applied to the client's base but not to the
			// newer one a concurrent commit made: that is a conflict.
			return staged{}, ice.CommitFailed("updates for %s no longer apply after a concurrent commit: %w", ch.ID, err)
		}
		return staged{}, ice.Invalid("invalid updates for %s: %w", ch.ID, err)
	}
	if ch.RepairManifests {
		ups, changed, err := s.normalizeSnapshots(ctx, updated, ch.Updates)
		if err != nil {
			return staged{}, err
		}
		if changed {
			// The snapshots now point at normalised manifest lists; a
			// retry reuses them (stageAll keeps st.change).
			ch.Updates, st.change.Updates = ups, ups
			if updated, err = applyUpdates(current, base.MetadataLocation, ch.Updates); err != nil {
				return staged{}, ice.Invalid("invalid updates for %s: %w", ch.ID, err)
			}
		}
	}
	newLoc, err := newMetadataLocation(updated, base.MetadataLocation)
	if err != nil {
		return staged{}, err
	}
	// Confinement, before any I/O: the location, when it is new, against
	// its namespace's area (the one case that reads the namespace), and
	// the paths the commit adds against the location.
	var tableLoc ice.Location
	if current == nil || updated.Location() != current.Location() {
		if tableLoc, err = s.newTableLocation(ctx, ch.ID, nil, updated.Location()); err != nil {
			return staged{}, err
		}
		st.claim = tableLoc.Key()
		err = checkTableFiles(tableLoc, updated, current, newLoc)
	} else if tableLoc, err = ice.ParseLocation(updated.Location()); err == nil {
		err = checkUpdates(tableLoc, ch.Updates, newLoc)
	}
	if err != nil {
		return staged{}, err
	}
	st.written, err = s.files.WriteMetadata(ctx, newLoc, updated, baseMd)
	if err != nil {
		if retry && ice.ErrorCode(err) == ice.EINVALID {
			return staged{}, ice.CommitFailed("updates for %s no longer apply after a concurrent commit: %w", ch.ID, err)
		}
		return staged{}, err
	}
	return st, nil
}

// requirementsHold checks the change's requirements against current (nil
// for a table that does not exist).
func requirementsHold(ch TableChange, current table.Metadata) error {
	for _, req := range ch.Requirements {
		if err := req.Validate(current); err != nil {
			return ice.CommitFailed("requirement failed for %s: %w", ch.ID, err)
		}
	}
	return nil
}

// loadBase reads the table's pointer and metadata. A missing table is a
// valid base only for a change that asserts its creation.
func (s *Service) loadBase(ctx context.Context, ch TableChange) (ice.TablePointer, *warehouse.Metadata, error) {
	ptr, err := s.store.LoadTable(ctx, ch.ID)
	if err != nil {
		if ice.IsNoSuchTable(err) && assertsCreate(ch.Requirements) {
			return ice.TablePointer{}, nil, ice.ValidateNewTableIdent(ch.ID)
		}
		return ice.TablePointer{}, nil, err
	}
	md, err := s.files.ReadMetadata(ctx, ptr.MetadataLocation)
	if err != nil {
		return ice.TablePointer{}, nil, err
	}
	return ptr, md, nil
}

// overlap reports whether two location keys overlap.
func overlap(a, b string) bool {
	la, errA := ice.ParseLocation(a)
	lb, errB := ice.ParseLocation(b)
	return errA != nil || errB != nil || la.Overlaps(lb)
}

func assertsCreate(reqs table.Requirements) bool {
	for _, r := range reqs {
		if r.GetType() == "assert-create" {
			return true
		}
	}
	return false
}

// applyUpdates applies updates to base with iceberg-go's MetadataBuilder. A
// nil base is a create: the builder starts empty at the format version the
// updates ask for.
func applyUpdates(base table.Metadata, baseLocation string, updates table.Updates) (table.Metadata, error) {
	if base != nil {
		return table.UpdateTableMetadata(base, updates, baseLocation)
	}
	b, err := table.NewMetadataBuilder(requestedFormatVersion(updates))
	if err != nil {
		return nil, err
	}
	for _, u := range updates {
		if err := u.Apply(b); err != nil {
			return nil, err
		}
	}
	md, err := b.Build()
	if err != nil {
		return nil, err
	}
	if md.Location() == "" {
		return nil, errors.New("a created table needs a set-location update")
	}
	return md, nil
}

func requestedFormatVersion(updates table.Updates) int {
	for _, u := range updates {
		if u.Action() != table.UpdateUpgradeFormatVersion {
			continue
		}
		var v struct {
			FormatVersion int `json:"format-version"`
		}
		if b, err := json.Marshal(u); err == nil && json.Unmarshal(b, &v) == nil && v.FormatVersion > 0 {
			return v.FormatVersion
		}
	}
	return 2
}

var metadataVersion = regexp.MustCompile(`^v?(\d+)[-.]`)

// newMetadataLocation names the next metadata file
// <metadata dir>/<version>-<uuid>.metadata.json (.gz. or .zstd. before
// metadata.json as write.metadata.compression-codec asks), where the
// directory is write.metadata.path or <location>/metadata. Names are joined
// literally: iceberg-go's location provider would %-escape a name with a
// space, '%' or non-ASCII characters in the metadata file's location but
// not in the table's, and unescape "%41" to "A", so two tables could share
// a directory (issue 14).
func newMetadataLocation(md table.Metadata, baseLocation string) (string, error) {
	version := 0
	if baseLocation != "" {
		for range md.PreviousFiles() { // a fallback for unusual names
			version++
		}
		if m := metadataVersion.FindStringSubmatch(path.Base(baseLocation)); m != nil {
			if v, err := strconv.Atoi(m[1]); err == nil {
				version = v + 1
			}
		}
	}
	props := md.Properties()
	var ext string
	switch codec := props.Get(table.MetadataCompressionKey, table.MetadataCompressionDefault); codec {
	case table.MetadataCompressionCodecNone:
		ext = ".metadata.json"
	case table.MetadataCompressionCodecGzip:
		ext = ".gz.metadata.json"
	case table.MetadataCompressionCodecZstd:
		ext = ".zstd.metadata.json"
	default:
		return "", ice.Errorf(ice.EINVALID, "unsupported %s %q", table.MetadataCompressionKey, codec)
	}
	dir := strings.TrimRight(props[table.WriteMetadataPathKey], "/")
	if dir == "" {
		if md.Location() == "" {
			return "", ice.Errorf(ice.EINVALID, "table has no location")
		}
		dir = strings.TrimRight(md.Location(), "/") + "/metadata"
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return "", fmt.Errorf("metadata file name: %w", err)
	}
	return fmt.Sprintf("%s/%05d-%s%s", dir, version, id, ext), nil
}

// resolveUnknown decides, where it can, whether a swap whose answer was lost
// was applied. Swaps are one transaction, so the first table tells for all.
// If the pointer still shows the base, the transaction may yet apply: the
// state stays unknown. If it moved, the transaction can never apply any
// more, but it may already have, with other commits landing on top of it:
// the metadata log, which names each file the pointer held in order, tells
// which file followed the base.
func (s *Service) resolveUnknown(ctx context.Context, swaps []ice.TableSwap, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	sw := swaps[0]
	cur, err := s.store.LoadTable(ctx, sw.ID)
	switch {
	case err == nil && cur.MetadataLocation == sw.NewLocation:
		return nil
	case err == nil && cur.Revision != sw.Base.Revision:
		return s.resolveMoved(ctx, sw, cur, cause)
	}
	// Unreadable, or dropped (whether our commit came before the drop is
	// lost with the entry), or unmoved.
	return ice.CommitStateUnknown(cause)
}

// resolveMoved finds the file that followed the base in cur's history: ours
// means applied, another means failed. A history that does not reach back
// to the base (trimmed by write.metadata.previous-versions-max, or written
// by a tool that keeps no log) leaves the state unknown.
func (s *Service) resolveMoved(ctx context.Context, sw ice.TableSwap, cur ice.TablePointer, cause error) error {
	if sw.Base.MetadataLocation == "" {
		// A create: the entry appeared, and it is not ours (checked above),
		// yet ours may have been created, dropped and re-created since.
		return ice.CommitStateUnknown(cause)
	}
	md, err := s.files.ReadMetadata(ctx, cur.MetadataLocation)
	if err != nil {
		return ice.CommitStateUnknown(cause)
	}
	var seq []string
	for e := range md.Parsed.PreviousFiles() {
		seq = append(seq, e.MetadataFile)
	}
	seq = append(seq, cur.MetadataLocation)
	for i := len(seq) - 2; i >= 0; i-- {
		if seq[i] != sw.Base.MetadataLocation {
			continue
		}
		if seq[i+1] == sw.NewLocation {
			return nil
		}
		return ice.CommitFailed("a concurrent commit changed %s first", sw.ID)
	}
	return ice.CommitStateUnknown(cause)
}

func (s *Service) discardAll(ctx context.Context, stages []staged) {
	for _, st := range stages {
		if st.written != nil {
			s.discard(ctx, st.written.Location)
		}
	}
}

// discard deletes a metadata file that certainly no pointer references.
func (s *Service) discard(ctx context.Context, loc string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.files.Delete(ctx, loc); err != nil {
		s.log.WarnContext(ctx, "could not delete an unreferenced metadata file", "location", loc, "err", err)
	}
}

func results(stages []staged) []*Table {
	out := make([]*Table, len(stages))
	for i, st := range stages {
		md := st.written
		if md == nil {
			md = st.current
		}
		out[i] = &Table{ID: st.change.ID, Location: md.Location, Metadata: md}
	}
	return out
}

func outcome(err error) string {
	switch ice.ErrorCode(err) {
	case ice.ECONFLICT:
		return "conflict"
	case ice.EUNKNOWNSTATE:
		return "unknown"
	}
	return "error"
}

// normalizeSnapshots repairs what the snapshots added by updates lack for
// other readers (Warehouse.NormalizeSnapshot) and returns the updates with
// those snapshots replaced; md is the metadata with the updates applied.
// The updates slice given is never modified.
func (s *Service) normalizeSnapshots(ctx context.Context, md table.Metadata, updates table.Updates) (table.Updates, bool, error) {
	var out table.Updates
	for i, u := range updates {
		if u.Action() != table.UpdateAddSnapshot {
			continue
		}
		raw, err := json.Marshal(u)
		if err != nil {
			return nil, false, err
		}
		var v struct {
			Snapshot struct {
				ID int64 `json:"snapshot-id"`
			} `json:"snapshot"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, false, err
		}
		snap := md.SnapshotByID(v.Snapshot.ID)
		if snap == nil {
			continue
		}
		orig := *snap
		if snap.ParentSnapshotID != nil && *snap.ParentSnapshotID == -1 {
			// ClickHouse (26.5, 26.7) writes parent-snapshot-id -1 for a
			// table's first snapshot; the spec's "no parent" is no field.
			cp := *snap
			cp.ParentSnapshotID = nil
			snap = &cp
		}
		fixed, changed, err := s.files.NormalizeSnapshot(ctx, md, *snap)
		if err != nil {
			return nil, false, err
		}
		changed = changed || snap.ParentSnapshotID != orig.ParentSnapshotID
		if !changed {
			continue
		}
		if out == nil {
			out = slices.Clone(updates)
		}
		out[i] = table.NewAddSnapshotUpdate(&fixed)
		s.log.InfoContext(ctx, "normalised a snapshot's manifests for other readers", "snapshot", snap.SnapshotID, "from", orig.ManifestList, "to", fixed.ManifestList)
	}
	return out, out != nil, nil
}
