package warehouse

import (
	"context"
	"errors"
	"fmt"

	ice "github.com/ice-rest-catalog/ice"
)

// DeleteIn deletes one file of the table at tableLoc, after checking,
// again, at the moment of the delete, that it lies inside tableLoc.
func (w *Warehouse) DeleteIn(ctx context.Context, tableLoc ice.Location, location string) error {
	if err := ice.CheckPath(tableLoc, location); err != nil {
		return fmt.Errorf("refusing to delete: %w", err)
	}
	return w.Delete(ctx, location)
}

// Purge deletes every file that a dropped table's metadata references: data
// and delete files, manifests, manifest lists, statistics files and the
// metadata files of its log, as long as it lies inside the table's
// location tableLoc (checked by the caller with ice.LocationRule). It
// deletes by reference, never by listing the table's directory. A path
// outside tableLoc is neither read nor deleted, whatever the metadata says:
// metadata is client-written, and a commit or a register could have named
// another table's files (issue 14). A file already gone is skipped; the
// first other failure is reported after trying the rest.
func (w *Warehouse) Purge(ctx context.Context, md *Metadata, tableLoc ice.Location) error {
	fio, err := w.FileIO(ctx, md.Location)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var files []string
	outside := 0
	inside := func(p string) bool {
		if ice.CheckPath(tableLoc, p) != nil {
			outside++
			return false
		}
		return true
	}
	add := func(p string) {
		if p != "" && !seen[p] && inside(p) {
			seen[p] = true
			files = append(files, p)
		}
	}
	var errs []error
	for _, snap := range md.Parsed.Snapshots() {
		if !inside(snap.ManifestList) {
			continue
		}
		manifests, err := snap.Manifests(fio)
		if err != nil {
			errs = append(errs, fmt.Errorf("read manifest list %s: %w", snap.ManifestList, err))
			continue
		}
		for _, mf := range manifests {
			if !inside(mf.FilePath()) {
				continue
			}
			entries, err := mf.FetchEntries(fio, false)
			if err != nil {
				errs = append(errs, fmt.Errorf("read manifest %s: %w", mf.FilePath(), err))
				continue
			}
			for _, e := range entries {
				add(e.DataFile().FilePath())
			}
			add(mf.FilePath())
		}
		add(snap.ManifestList)
	}
	for st := range md.Parsed.Statistics() {
		add(st.StatisticsPath)
	}
	for st := range md.Parsed.PartitionStatistics() {
		add(st.StatisticsPath)
	}
	for prev := range md.Parsed.PreviousFiles() {
		add(prev.MetadataFile)
	}
	add(md.Location) // last: while it exists the purge can be re-run
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.DeleteIn(ctx, tableLoc, f); err != nil {
			errs = append(errs, err)
		}
	}
	if outside > 0 {
		errs = append(errs, fmt.Errorf("%d referenced paths lie outside the table location %s and were left alone", outside, tableLoc))
	}
	w.removeEmptyDirs(ctx, md.Parsed.Location(), files)
	return errors.Join(errs...)
}
