package warehouse

import (
	"encoding/json"
	"fmt"
	"iter"
	"reflect"
	"slices"

	"github.com/apache/iceberg-go/table"
)

// checkReadable reports whether Iceberg readers will accept raw, the
// encoding of d.md, a commit's result on d's base (none for a create).
//
// A file that readers reject would break the table once its pointer moved
// there, and iceberg-go's builder lets some such results through (an
// add-snapshot below the table's sequence number, an empty set-location).
// Reading the bytes back as a reader does is the plain check, but it costs
// more than the rest of a commit together: about 1.6 ms for a 30 KB,
// 100-snapshot file on the 2-core machine, against 0.6 ms to encode it
// (docs/benchmarks.md). So a commit that leaves the table's structure as it
// was (the same format version, UUID, location, schemas, partition specs,
// sort orders and encryption keys: appends, snapshot expiry, ref and
// property changes, statistics) is checked for what can still differ from
// the base, which readers accepted:
//   - the rules readers apply beyond the ones the builder's Build already
//     ran: every snapshot's sequence number is at most the table's last
//     sequence number, and a v3 table's row-lineage fields are set;
//   - each new snapshot, every ref and every statistics file reads back
//     from its own JSON, as a reader decodes it within the file.
//
// Anything else (a create, schema or partition evolution, a new location,
// a format upgrade) is read back whole. FuzzApplyUpdates (service) holds
// both paths to the plain check: whatever either accepts must parse.
func checkReadable(d *draft, raw []byte) error {
	md, base := d.md, d.baseModel()
	if base == nil || !sameStructure(md, base) {
		_, err := table.ParseMetadataBytes(raw)
		return err
	}
	snaps := d.snaps
	if v := md.Version(); v >= 2 {
		last := md.LastSequenceNumber()
		if last < 0 {
			return fmt.Errorf("%w: last-sequence-number is required for format version %d", table.ErrInvalidMetadata, v)
		}
		for _, s := range snaps {
			if s.SequenceNumber > last {
				return fmt.Errorf("%w: snapshot %d has sequence number %d, above the table's last-sequence-number %d",
					table.ErrInvalidMetadata, s.SnapshotID, s.SequenceNumber, last)
			}
		}
	}
	if md.Version() >= 3 {
		if md.NextRowID() < 0 {
			return fmt.Errorf("%w: next-row-id must be set and non-negative, got %d", table.ErrInvalidMetadata, md.NextRowID())
		}
		for _, s := range snaps {
			if s.FirstRowID != nil && *s.FirstRowID < 0 {
				return fmt.Errorf("%w: snapshot %d has a negative first-row-id", table.ErrInvalidMetadata, s.SnapshotID)
			}
		}
	}
	for _, s := range snaps {
		if d.baseSnaps[s.SnapshotID] == nil {
			if err := roundTrip(s, new(table.Snapshot)); err != nil {
				return fmt.Errorf("snapshot %d: %w", s.SnapshotID, err)
			}
		}
	}
	for name, ref := range md.Refs() {
		if err := roundTrip(ref, new(table.SnapshotRef)); err != nil {
			return fmt.Errorf("ref %s: %w", name, err)
		}
	}
	if st, ok := md.(statistics); ok {
		for f := range st.Statistics() {
			if err := roundTrip(f, new(table.StatisticsFile)); err != nil {
				return fmt.Errorf("statistics file %s: %w", f.StatisticsPath, err)
			}
		}
		for f := range st.PartitionStatistics() {
			if err := roundTrip(f, new(table.PartitionStatisticsFile)); err != nil {
				return fmt.Errorf("partition statistics file %s: %w", f.StatisticsPath, err)
			}
		}
	}
	return nil
}

// statistics is what iceberg-go's metadata types offer beyond
// table.Metadata that a commit can change without changing the structure.
type statistics interface {
	Statistics() iter.Seq[table.StatisticsFile]
	PartitionStatistics() iter.Seq[table.PartitionStatisticsFile]
}

// encryptionKeys is the part of a table's structure that iceberg-go's
// metadata types offer beyond table.Metadata.
type encryptionKeys interface {
	EncryptionKeys() iter.Seq[table.EncryptionKey]
}

func roundTrip(v any, into any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, into); err != nil {
		return fmt.Errorf("%w: %w", table.ErrInvalidMetadata, err)
	}
	return nil
}

// sameStructure reports whether md keeps base's structure: everything but
// snapshots, refs, logs, properties and statistics is as base had it.
func sameStructure(md, base table.Metadata) bool {
	if md.Version() != base.Version() || md.TableUUID() != base.TableUUID() || md.Location() != base.Location() ||
		md.LastColumnID() != base.LastColumnID() || md.DefaultPartitionSpec() != base.DefaultPartitionSpec() ||
		md.DefaultSortOrder() != base.DefaultSortOrder() || !reflect.DeepEqual(md.LastPartitionSpecID(), base.LastPartitionSpecID()) {
		return false
	}
	ms, bs := md.Schemas(), base.Schemas()
	if len(ms) != len(bs) || md.CurrentSchema().ID != base.CurrentSchema().ID {
		return false
	}
	for i := range ms {
		if ms[i].ID != bs[i].ID || !ms[i].Equals(bs[i]) {
			return false
		}
	}
	mp, bp := md.PartitionSpecs(), base.PartitionSpecs()
	if len(mp) != len(bp) {
		return false
	}
	for i := range mp {
		if mp[i].ID() != bp[i].ID() || !mp[i].Equals(bp[i]) {
			return false
		}
	}
	mo, bo := md.SortOrders(), base.SortOrders()
	if len(mo) != len(bo) {
		return false
	}
	for i := range mo {
		if mo[i].OrderID() != bo[i].OrderID() || !mo[i].Equals(bo[i]) {
			return false
		}
	}
	mk, mok := md.(encryptionKeys)
	bk, bok := base.(encryptionKeys)
	if mok != bok {
		return false
	}
	if mok && !reflect.DeepEqual(slices.Collect(mk.EncryptionKeys()), slices.Collect(bk.EncryptionKeys())) {
		return false
	}
	return true
}
