package maintenance

import (
	"context"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/apache/iceberg-go/table"

	icebergio "github.com/apache/iceberg-go/io"

	ice "github.com/ice-rest-catalog/ice"
)

// DeleteOldMetadata deletes the table's metadata files that have left its
// metadata log, when the table sets write.metadata.delete-after-commit.enabled.
// How many stay is write.metadata.previous-versions-max: iceberg-go trims the
// log to it on every commit, and this job deletes what was trimmed.
//
// A candidate is a metadata file in the directory of the current one whose
// version is below every version still referenced. A commit in flight writes
// a version above the current one, and a file below it can never become
// current (its commit's compare-and-swap would need a stale revision), so
// the job never races a commit. With each deleted metadata file go the files
// that only it reached: the expired snapshots' manifests and data files.
func (j *Jobs) DeleteOldMetadata(ctx context.Context, id ice.TableIdent) (TableResult, error) {
	res := TableResult{Job: JobMetadataFiles, Table: id.String()}
	t, err := j.svc.LoadTable(ctx, id)
	if err != nil {
		return res, err
	}
	md := t.Metadata.Parsed
	if !md.Properties().GetBool(table.MetadataDeleteAfterCommitEnabledKey, table.MetadataDeleteAfterCommitEnabledDefault) {
		return res, nil
	}
	referenced := fileSet{}
	referenced.add(t.Location)
	minVersion, ok := metadataVersion(t.Location)
	for e := range md.PreviousFiles() {
		referenced.add(e.MetadataFile)
		if v, vok := metadataVersion(e.MetadataFile); vok && (!ok || v < minVersion) {
			minVersion, ok = v, true
		}
	}
	if !ok {
		return res, nil // names we do not understand: touch nothing
	}
	keep, fio, err := j.protected(ctx, t)
	if err != nil {
		return res, err
	}
	old, err := listMetadataFiles(fio, path.Dir(t.Location), func(name string) bool {
		v, vok := metadataVersion(name)
		return vok && v < minVersion
	})
	if err != nil {
		return res, err
	}
	// What the old files reach is deleted with them, unless still protected.
	r := newReach(fio)
	var candidates []string
	for _, f := range old {
		if referenced.has(f) {
			continue
		}
		if omd, err := j.wh.ReadMetadata(ctx, f); err == nil {
			for _, s := range omd.Parsed.Snapshots() {
				if err := r.addSnapshot(ctx, s); err != nil {
					return res, err
				}
			}
		} else if ice.ErrorCode(err) != ice.ENOTFOUND {
			j.log.WarnContext(ctx, "unreadable old metadata file: deleting it without its snapshots' files", "file", f, "err", err)
		}
		candidates = append(candidates, f)
	}
	for f := range r.files {
		candidates = append(candidates, f)
	}
	slices.Sort(candidates)
	candidates = slices.Compact(candidates)
	res.Deleted, err = j.deleteUnprotected(ctx, JobMetadataFiles, md.Location(), candidates, keep)
	return res, err
}

// metadataVersion is the version of a table's metadata file: <version>-<uuid>
// or v<version>, then an optional codec, then .metadata.json.
func metadataVersion(location string) (int, bool) {
	v, rest, ok := ice.MetadataFileVersion(location)
	return v, ok && strings.HasSuffix(rest, ".metadata.json")
}

// listMetadataFiles lists the metadata files directly in dir that match.
func listMetadataFiles(fio icebergio.IO, dir string, match func(name string) bool) ([]string, error) {
	lister, ok := fio.(icebergio.ListableIO)
	if !ok {
		return nil, nil
	}
	var out []string
	root := normalize(dir)
	err := lister.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errorsIsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			if normalize(p) != root {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".metadata.json") && match(path.Base(p)) {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}
