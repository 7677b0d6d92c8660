package warehouse

import (
	"context"
	"errors"
	"fmt"
)

// Purge deletes every file that a dropped table's metadata references: data
// and delete files, manifests, manifest lists, statistics files and the
// metadata files of its log. It deletes by reference, never by listing the
// table's directory, so files of another table that shares the location
// (a registered or client-placed table) are never touched. A file already
// gone is skipped; the first other failure is reported after trying the rest.
func (w *Warehouse) Purge(ctx context.Context, md *Metadata) error {
	fio, err := w.FileIO(ctx, md.Location)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var files []string
	add := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	var errs []error
	for _, snap := range md.Parsed.Snapshots() {
		manifests, err := snap.Manifests(fio)
		if err != nil {
			errs = append(errs, fmt.Errorf("read manifest list %s: %w", snap.ManifestList, err))
			continue
		}
		for _, mf := range manifests {
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
		if err := w.Delete(ctx, f); err != nil {
			errs = append(errs, err)
		}
	}
	w.removeEmptyDirs(ctx, md.Parsed.Location(), files)
	return errors.Join(errs...)
}
