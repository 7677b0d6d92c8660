package maintenance

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/iceberg-go/table"

	ice "github.com/ice-rest-catalog/ice"
)

// ExpireSnapshots removes the table's snapshots that are older than the
// maximum age and beyond the minimum count, with a commit through the
// service. iceberg-go decides which snapshots go, from the table's
// properties and refs, falling back to the configured defaults; its
// requirements (assert-table-uuid and assert-ref-snapshot-id for every ref)
// make the commit fail if a client moved a ref in between, and then the
// expiry is recomputed on the new state.
//
// After the commit it deletes the files only the expired snapshots reached,
// unless a retained metadata file still reaches them. The metadata file just
// replaced is in the log, so usually they wait: DeleteOldMetadata deletes
// them when the last metadata file that mentions them leaves the log.
func (j *Jobs) ExpireSnapshots(ctx context.Context, id ice.TableIdent) (TableResult, error) {
	res := TableResult{Job: JobExpireSnapshots, Table: id.String()}
	for attempt := 1; ; attempt++ {
		t, err := j.svc.LoadTable(ctx, id)
		if err != nil {
			return res, err
		}
		if !t.Metadata.Parsed.Properties().GetBool("gc.enabled", true) {
			res.Skipped = "gc.enabled is false"
			return res, nil
		}
		committer := &serviceCommitter{svc: j.svc, id: id}
		tx := j.tableOf(t, committer).NewTransaction()
		if err := tx.ExpireSnapshots(j.expireOptions(t.Metadata.Parsed.Properties())...); err != nil {
			if strings.Contains(err.Error(), "GC is disabled") {
				res.Skipped = "gc.enabled is false"
				return res, nil
			}
			return res, fmt.Errorf("plan expiry: %w", err)
		}
		staged, err := tx.StagedTable()
		if err != nil {
			return res, fmt.Errorf("plan expiry: %w", err)
		}
		removed := removedSnapshots(t.Metadata.Parsed, staged.Metadata())
		if len(removed) == 0 {
			return res, nil
		}
		for _, s := range removed {
			res.Expired = append(res.Expired, s.SnapshotID)
		}
		if j.cfg.DryRun {
			return res, nil
		}
		if j.beforeCommit != nil {
			j.beforeCommit(id)
		}
		if _, err := tx.Commit(ctx); err != nil {
			if ice.ErrorCode(committer.err) == ice.ECONFLICT && attempt < maxExpireCommitAttempts {
				j.metrics.expireConflicts.Inc()
				res.Expired = nil
				continue // a client committed first: plan again on its state
			}
			if committer.err != nil {
				return res, committer.err
			}
			return res, fmt.Errorf("expire snapshots: %w", err)
		}
		j.metrics.snapshotsExpired.Add(float64(len(removed)))
		res.Deleted, err = j.deleteExpiredFiles(ctx, id, removed)
		return res, err
	}
}

// expireOptions passes the configured defaults only where the table has no
// property of its own, so a table's properties win over the config.
func (j *Jobs) expireOptions(props map[string]string) []table.ExpireSnapshotsOpt {
	opts := []table.ExpireSnapshotsOpt{table.WithPostCommit(false)} // deletion is ours, under the rule above
	if !hasAny(props, table.MaxSnapshotAgeMsKey, "max-snapshot-age-ms") {
		opts = append(opts, table.WithOlderThan(j.cfg.MaxSnapshotAge))
	}
	if !hasAny(props, table.MinSnapshotsToKeepKey, "min-snapshots-to-keep") {
		opts = append(opts, table.WithRetainLast(j.cfg.MinSnapshotsToKeep))
	}
	return opts
}

func removedSnapshots(before, after table.Metadata) []table.Snapshot {
	kept := map[int64]bool{}
	for _, s := range after.Snapshots() {
		kept[s.SnapshotID] = true
	}
	var out []table.Snapshot
	for _, s := range before.Snapshots() {
		if !kept[s.SnapshotID] {
			out = append(out, s)
		}
	}
	return out
}

// deleteExpiredFiles deletes what only the removed snapshots reached, read
// against the table's state after the commit (a fresh load, so a commit that
// landed since is protected too).
func (j *Jobs) deleteExpiredFiles(ctx context.Context, id ice.TableIdent, removed []table.Snapshot) ([]string, error) {
	now, err := j.svc.LoadTable(ctx, id)
	if err != nil {
		return nil, err
	}
	keep, fio, err := j.protected(ctx, now)
	if err != nil {
		return nil, err
	}
	r := newReach(fio)
	for _, s := range removed {
		if err := r.addSnapshot(ctx, s); err != nil {
			return nil, err
		}
	}
	candidates := make([]string, 0, len(r.files))
	for f := range r.files {
		candidates = append(candidates, f)
	}
	slices.Sort(candidates)
	return j.deleteUnprotected(ctx, JobExpireSnapshots, now.Metadata.Parsed.Location(), candidates, keep)
}

// hasAny reports whether props sets one of keys (iceberg-go still reads the
// unprefixed names that older Go writers used).
func hasAny(props map[string]string, keys ...string) bool {
	for _, k := range keys {
		if _, ok := props[k]; ok {
			return true
		}
	}
	return false
}
