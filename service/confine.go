package service

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"strings"

	"github.com/apache/iceberg-go/table"

	ice "github.com/ice-rest-catalog/ice"
)

// The paths that table properties point writers at. Writers put data and
// metadata files there, so they must lie inside the table's location.
var pathProperties = []string{
	table.WriteDataPathKey,     // write.data.path
	table.WriteMetadataPathKey, // write.metadata.path
	"write.object-storage.path",
	"write.folder-storage.path",
}

// Locations is the location rule the service enforces.
func (s *Service) Locations() *ice.LocationRule { return s.rule }

// CheckStoredLocation checks the location of a stored table before its
// files are signed, vended or deleted (ice.LocationRule.CheckStored).
func (s *Service) CheckStoredLocation(loc string) (ice.Location, error) {
	if s.ruleErr != nil {
		return ice.Location{}, s.ruleErr
	}
	return s.rule.CheckStored(loc)
}

// newTableLocation checks the location of a table (or view) that is being
// created, registered or moved, against its namespace's area, and returns
// it parsed. nsProps may be nil: the namespace is then read.
func (s *Service) newTableLocation(ctx context.Context, id ice.TableIdent, nsProps map[string]string, loc string) (ice.Location, error) {
	if s.ruleErr != nil {
		return ice.Location{}, s.ruleErr
	}
	if nsProps == nil {
		ns, err := s.store.LoadNamespace(ctx, id.Namespace)
		if err != nil {
			return ice.Location{}, err
		}
		nsProps = ns.Properties
	}
	return s.rule.CheckTableLocation(id, nsProps, loc)
}

// checkTableFiles checks that every path md points writers and readers at
// lies inside the table location l: the metadata file itself, the path
// properties and, for what base does not hold already (everything when
// base is nil), the snapshots' manifest lists, the statistics files and the
// metadata log. Only what a commit adds is checked, so a commit costs a
// few string comparisons, whatever the table's history.
func checkTableFiles(l ice.Location, md, base table.Metadata, metadataLoc string) error {
	if metadataLoc != "" {
		if err := ice.CheckPath(l, metadataLoc); err != nil {
			return refused("metadata file", err)
		}
	}
	props := md.Properties()
	for _, k := range pathProperties {
		v, ok := props[k]
		if !ok || (base != nil && base.Properties()[k] == v && base.Location() == md.Location()) {
			continue
		}
		if err := ice.CheckPath(l, strings.TrimRight(v, "/")); err != nil {
			return refused(fmt.Sprintf("property %s", k), err)
		}
	}
	known := map[int64]bool{}
	if base != nil {
		for _, sn := range base.Snapshots() {
			known[sn.SnapshotID] = sn.ManifestList != ""
		}
	}
	for _, sn := range md.Snapshots() {
		if _, ok := known[sn.SnapshotID]; ok && base.Location() == md.Location() {
			continue
		}
		if sn.ManifestList != "" {
			if err := ice.CheckPath(l, sn.ManifestList); err != nil {
				return refused(fmt.Sprintf("snapshot %d manifest-list", sn.SnapshotID), err)
			}
		}
	}
	st, ok := md.(statistics)
	if !ok {
		return nil
	}
	old := map[string]bool{}
	if bst, ok := base.(statistics); ok && base.Location() == md.Location() {
		for f := range bst.Statistics() {
			old[f.StatisticsPath] = true
		}
		for f := range bst.PartitionStatistics() {
			old[f.StatisticsPath] = true
		}
	}
	for f := range st.Statistics() {
		if !old[f.StatisticsPath] {
			if err := ice.CheckPath(l, f.StatisticsPath); err != nil {
				return refused("statistics file", err)
			}
		}
	}
	for f := range st.PartitionStatistics() {
		if !old[f.StatisticsPath] {
			if err := ice.CheckPath(l, f.StatisticsPath); err != nil {
				return refused("partition statistics file", err)
			}
		}
	}
	if base == nil {
		for e := range md.PreviousFiles() {
			if err := ice.CheckPath(l, e.MetadataFile); err != nil {
				return refused("metadata log", err)
			}
		}
	}
	return nil
}

// checkUpdates is checkTableFiles for a commit that keeps the table's
// location: the paths it adds are exactly those its updates name (new
// snapshots' manifest lists, statistics files, path properties), so only
// those are checked, at a cost that does not grow with the table's history
// (BenchmarkCheckTableFiles). Each update of those kinds is decoded from
// its JSON: iceberg-go's update types are unexported.
func checkUpdates(l ice.Location, updates table.Updates, metadataLoc string) error {
	if err := ice.CheckPath(l, metadataLoc); err != nil {
		return refused("metadata file", err)
	}
	for _, u := range updates {
		switch u.Action() {
		case table.UpdateAddSnapshot, table.UpdateSetStatistics, table.UpdateSetPartitionStatistics, table.UpdateSetProperties:
		default:
			continue
		}
		raw, err := json.Marshal(u)
		if err != nil {
			return fmt.Errorf("encode %s update: %w", u.Action(), err)
		}
		var v struct {
			Snapshot *struct {
				ID           int64  `json:"snapshot-id"`
				ManifestList string `json:"manifest-list"`
			} `json:"snapshot"`
			Statistics *struct {
				Path string `json:"statistics-path"`
			} `json:"statistics"`
			PartitionStatistics *struct {
				Path string `json:"statistics-path"`
			} `json:"partition-statistics"`
			Updates map[string]string `json:"updates"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("decode %s update: %w", u.Action(), err)
		}
		switch {
		case v.Snapshot != nil && v.Snapshot.ManifestList != "":
			if err := ice.CheckPath(l, v.Snapshot.ManifestList); err != nil {
				return refused(fmt.Sprintf("snapshot %d manifest-list", v.Snapshot.ID), err)
			}
		case v.Statistics != nil:
			if err := ice.CheckPath(l, v.Statistics.Path); err != nil {
				return refused("statistics file", err)
			}
		case v.PartitionStatistics != nil:
			if err := ice.CheckPath(l, v.PartitionStatistics.Path); err != nil {
				return refused("partition statistics file", err)
			}
		}
		for _, k := range pathProperties {
			if p, ok := v.Updates[k]; ok {
				if err := ice.CheckPath(l, strings.TrimRight(p, "/")); err != nil {
					return refused("property "+k, err)
				}
			}
		}
	}
	return nil
}

// refused names what broke the rule.
func refused(what string, err error) error {
	if e, ok := err.(*ice.Error); ok && e.Code == ice.EINVALID {
		return ice.Invalid("%s: %s", what, e.Message)
	}
	return err
}

// statistics is what iceberg-go's metadata types offer beyond
// table.Metadata for statistics files.
type statistics interface {
	Statistics() iter.Seq[table.StatisticsFile]
	PartitionStatistics() iter.Seq[table.PartitionStatisticsFile]
}
