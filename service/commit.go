package service

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

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

// CommitTable commits one table's change. See commit for claim and
// settled.
func (s *Service) CommitTable(ctx context.Context, ch TableChange, claim *ice.IdempotencyClaim) (t *Table, settled bool, err error) {
	tables, settled, err := s.commit(ctx, []TableChange{ch}, claim)
	if err != nil {
		return nil, settled, err
	}
	return tables[0], settled, nil
}

// CommitTransaction commits several tables' changes atomically. See
// commit for claim and settled.
func (s *Service) CommitTransaction(ctx context.Context, changes []TableChange, claim *ice.IdempotencyClaim) (settled bool, err error) {
	if len(changes) == 0 {
		return false, ice.Errorf(ice.EINVALID, "a transaction needs at least one table change")
	}
	seen := map[string]bool{}
	for _, ch := range changes {
		if seen[ch.ID.String()] {
			return false, ice.Errorf(ice.EINVALID, "table %s appears more than once in the transaction", ch.ID)
		}
		seen[ch.ID.String()] = true
	}
	_, settled, err = s.commit(ctx, changes, claim)
	return settled, err
}

// commit is the commit path, in order: read each pointer and its revision,
// read the base metadata, validate the requirements, apply the updates with
// iceberg-go, write the new metadata files, then swap every pointer in one
// etcd transaction that succeeds only if no revision moved. A lost race is
// retried from a fresh base, where the requirements are checked again, so a
// commit that landed in between is never overwritten. With an
// Idempotency-Key's claim (nil for none), the swap's transaction also
// stores the committed outcome under the key; settled reports that it did,
// and that the caller has nothing left to record.
func (s *Service) commit(ctx context.Context, changes []TableChange, claim *ice.IdempotencyClaim) (tables []*Table, settled bool, err error) {
	for _, ch := range changes {
		if err := ice.ValidateTableIdent(ch.ID); err != nil {
			return nil, false, err
		}
	}
	unlock, err := s.lockTables(ctx, changes)
	if err != nil {
		s.metrics.Commit(outcome(err))
		return nil, false, err
	}
	defer unlock()
	c, err := retryCommit(ctx, s, s.tables(), func(retry bool) (*tableCommit, error) {
		stages, err := s.stageAll(ctx, changes, retry)
		return &tableCommit{s: s, stages: stages, claim: claim}, err
	}, func(attempt int) error {
		s.metrics.CommitRetry()
		return s.waitToRetry(ctx, changes, attempt)
	})
	s.metrics.Commit(outcome(err))
	if err != nil {
		return nil, false, err
	}
	for _, st := range c.stages {
		s.deleteRemovedMetadata(ctx, st)
	}
	return results(c.stages), c.settled, nil
}

// tableCommit is one attempt of a commit of tables.
type tableCommit struct {
	s      *Service
	stages []staged
	swaps  []ice.TableSwap
	// claim is the request's Idempotency-Key claim, or nil; settled is set
	// when the swap's transaction stored the outcome under it.
	claim   *ice.IdempotencyClaim
	settled bool
}

// swap swaps the pointer of every table the attempt wrote in one
// transaction; so when its answer is lost, the first table tells for all
// (resolveUnknown).
func (c *tableCommit) swap(ctx context.Context) error {
	s := c.s
	c.swaps = make([]ice.TableSwap, 0, len(c.stages))
	for _, st := range c.stages {
		if st.written != nil {
			c.swaps = append(c.swaps, ice.TableSwap{ID: st.change.ID, Base: st.base, NewLocation: st.written.Location, ClaimLocation: st.claim})
		}
	}
	swaps := c.swaps
	if len(swaps) == 0 {
		return nil // nothing to write: the result is the current state
	}
	err := s.store.SwapTables(ctx, swaps, c.claim)
	c.settled = c.claim != nil && err == nil
	if ice.ErrorCode(err) == ice.EUNKNOWNSTATE {
		err = s.resolveUnknown(ctx, s.tables(), swaps[0], err)
	}
	return err
}

func (c *tableCommit) discard(ctx context.Context) { c.s.discardAll(ctx, c.stages) }

func (c *tableCommit) entries() []string {
	out := make([]string, len(c.swaps))
	for i, sw := range c.swaps {
		out[i] = sw.ID.String()
	}
	return out
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
	md, err := build[table.Metadata](b, err, updates)
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

// newMetadataLocation names the table's next metadata file
// (nextMetadataFile), with .gz. or .zstd. before metadata.json as
// write.metadata.compression-codec asks. A base whose name holds no version
// is followed by the length of its metadata log.
func newMetadataLocation(md table.Metadata, baseLocation string) (string, error) {
	var ext string
	switch codec := md.Properties().Get(table.MetadataCompressionKey, table.MetadataCompressionDefault); codec {
	case table.MetadataCompressionCodecNone:
		ext = ".metadata.json"
	case table.MetadataCompressionCodecGzip:
		ext = ".gz.metadata.json"
	case table.MetadataCompressionCodecZstd:
		ext = ".zstd.metadata.json"
	default:
		return "", ice.Errorf(ice.EINVALID, "unsupported %s %q", table.MetadataCompressionKey, codec)
	}
	logged := 0
	for range md.PreviousFiles() {
		logged++
	}
	return nextMetadataFile(ice.KindTable, md.Properties(), md.Location(), baseLocation, logged, ext)
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
	if err == nil {
		return "ok"
	}
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
