package maintenance

import (
	"context"
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
	return j.compactLoop(ctx, id, JobManifestCompaction, j.manifestCompaction)
}

// manifestCompaction plans CompactManifests on the table as loaded.
func (j *Jobs) manifestCompaction(ctx context.Context, id ice.TableIdent, tbl *table.Table, cr *CompactionResult) (*compactStep, error) {
	md := tbl.Metadata()
	target := int64(defaultManifestTargetSize)
	if v, err := strconv.ParseInt(md.Properties()[table.ManifestTargetSizeBytesKey], 10, 64); err == nil && v > 0 {
		target = v
	}
	cr.TargetBytes = target
	_, manifests, err := currentManifests(ctx, tbl)
	if err != nil {
		return nil, err
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
		return nil, nil
	}
	if j.cfg.DryRun {
		cr.OutputFiles = int(max(1, (cr.InputBytes+target-1)/target))
		cr.OutputBytes = cr.InputBytes
	}
	tx := tbl.NewTransaction()
	var out *table.RewriteManifestsResult
	return &compactStep{what: "commit manifest rewrite",
		prepare: func(ctx context.Context) (bool, error) {
			var err error
			out, err = tx.RewriteManifests(ctx, table.WithManifestTargetSize(target), table.WithRewriteManifestPredicate(small))
			if err != nil {
				return false, fmt.Errorf("rewrite manifests of %s: %w", id, err)
			}
			return !out.IsNoOp(), nil
		},
		commit: func(ctx context.Context) error {
			committed, err := tx.Commit(ctx)
			if err != nil {
				return err
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
			return nil
		}}, nil
}
