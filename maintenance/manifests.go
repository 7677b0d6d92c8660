package maintenance

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	ice "github.com/ice-rest-catalog/ice"
)

// defaultManifestTargetSize is Iceberg's commit.manifest.target-size-bytes.
const defaultManifestTargetSize = 8 << 20

// CompactManifests merges the current snapshot's small data manifests
// (smaller than the table's commit.manifest.target-size-bytes, default
// 8 MiB) into fewer of about that size, once there are at least two, with
// iceberg-go's RewriteManifests: metadata only, no data file is read or
// written, and the same data files stay live. It commits one replace
// snapshot through the service; concurrent commits are handled as in
// CompactData (replay on top of them, else plan again, else give up). The
// replaced manifests stay until expiry and orphan cleanup remove them.
func (j *Jobs) CompactManifests(ctx context.Context, id ice.TableIdent) (TableResult, error) {
	res := TableResult{Job: JobManifestCompaction, Table: id.String()}
	cr := &CompactionResult{}
	for attempt := 1; ; attempt++ {
		t, err := j.svc.LoadTable(ctx, id)
		if err != nil {
			return res, err
		}
		md := t.Metadata.Parsed
		if compactionDisabled(md.Properties()) {
			res.Skipped = PropCompactionEnabled + " is false"
			return res, nil
		}
		snap := md.CurrentSnapshot()
		if snap == nil {
			return res, nil
		}
		target := int64(defaultManifestTargetSize)
		if v, err := strconv.ParseInt(md.Properties()[table.ManifestTargetSizeBytesKey], 10, 64); err == nil && v > 0 {
			target = v
		}
		cr.TargetBytes = target
		committer := &replayCommitter{serviceCommitter: serviceCommitter{svc: j.svc, id: id}, jobs: j}
		tbl := j.tableFor(t, committer)
		fio, err := tbl.FS(ctx)
		if err != nil {
			return res, err
		}
		manifests, err := snap.Manifests(fio)
		if err != nil {
			return res, fmt.Errorf("read manifest list: %w", err)
		}
		small := func(m iceberg.ManifestFile) bool {
			return m.ManifestContent() == iceberg.ManifestContentData && m.Length() < target
		}
		cr.InputFiles, cr.InputBytes, cr.Files = 0, 0, nil
		for _, m := range manifests {
			if small(m) {
				cr.InputFiles++
				cr.InputBytes += m.Length()
				if j.cfg.DryRun {
					cr.Files = append(cr.Files, m.FilePath())
				}
			}
		}
		if cr.InputFiles < 2 {
			return res, nil
		}
		res.Compaction = cr
		if j.cfg.DryRun {
			cr.OutputFiles = int(max(1, (cr.InputBytes+target-1)/target))
			cr.OutputBytes = cr.InputBytes
			return res, nil
		}
		tx := tbl.NewTransaction()
		out, err := tx.RewriteManifests(ctx, table.WithManifestTargetSize(target), table.WithRewriteManifestPredicate(small))
		if err != nil {
			return res, fmt.Errorf("rewrite manifests of %s: %w", id, err)
		}
		if out.IsNoOp() {
			res.Compaction = nil
			return res, nil
		}
		if j.beforeCommit != nil {
			j.beforeCommit(id)
		}
		committed, err := tx.Commit(ctx)
		if err != nil {
			if ice.ErrorCode(committer.err) == ice.ECONFLICT || errors.Is(err, table.ErrCommitFailed) {
				j.metrics.compactionConflicts.WithLabelValues(JobManifestCompaction).Inc()
				cr.Conflicts++
				if attempt < maxCompactionAttempts {
					continue
				}
				cr.GaveUp = "concurrent commits kept conflicting with the rewrite: " + err.Error()
				res.Skipped = "gave up after concurrent commits conflicted"
				return res, nil
			}
			return res, fmt.Errorf("commit manifest rewrite of %s: %w", id, err)
		}
		cr.Groups = 1
		cr.InputFiles, cr.InputBytes, cr.OutputFiles, cr.OutputBytes = len(out.RewrittenManifests), 0, len(out.AddedManifests), 0
		for _, m := range out.RewrittenManifests {
			cr.InputBytes += m.Length()
		}
		for _, m := range out.AddedManifests {
			cr.OutputBytes += m.Length()
		}
		if committed != nil && committed.CurrentSnapshot() != nil {
			cr.Snapshot = committed.CurrentSnapshot().SnapshotID
		}
		j.metrics.compacted(JobManifestCompaction, cr)
		return res, nil
	}
}
