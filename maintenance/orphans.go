package maintenance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	icebergio "github.com/apache/iceberg-go/io"

	ice "github.com/ice-rest-catalog/ice"
)

// RemoveOrphanFiles deletes the files under the table's location that no
// retained metadata reaches and that are older than the retention period
// (younger ones may belong to a commit in flight). With DryRun it only lists
// them. It never walks into the location of another table of the catalog.
func (j *Jobs) RemoveOrphanFiles(ctx context.Context, id ice.TableIdent) (TableResult, error) {
	idx, err := j.index(ctx)
	if err != nil {
		return TableResult{}, err
	}
	return j.removeOrphans(ctx, id, idx)
}

func (j *Jobs) removeOrphans(ctx context.Context, id ice.TableIdent, idx *catalogIndex) (TableResult, error) {
	res := TableResult{Job: JobOrphanFiles, Table: id.String()}
	t, err := j.svc.LoadTable(ctx, id)
	if err != nil {
		return res, err
	}
	keep, fio, err := j.protected(ctx, t)
	if err != nil {
		return res, err
	}
	lister, ok := fio.(icebergio.ListableIO)
	if !ok {
		res.Skipped = "storage cannot list files"
		return res, nil
	}
	root := t.Metadata.Parsed.Location()
	if _, err := j.svc.CheckStoredLocation(root); err != nil {
		// Never walk a location the rule does not confirm: a client may
		// have set file:/// or a bucket root before the rule existed.
		res.Skipped = fmt.Sprintf("location %s is not confirmed by the location rule: %v", root, err)
		return res, nil
	}
	rootNorm := normalize(root)
	if owners := idx.owners[rootNorm]; len(owners) > 1 {
		// Another table or view keeps files here too, which this table's
		// metadata does not reach: nothing here can be called an orphan.
		res.Skipped = fmt.Sprintf("location %s is shared: %s", root, strings.Join(owners, ", "))
		return res, nil
	}
	cutoff := time.Now().Add(-j.cfg.OrphanRetention)
	var candidates []string
	err = lister.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errorsIsNotExist(err) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		n := normalize(p)
		if d.IsDir() {
			if _, owned := idx.owners[n]; owned && n != rootNorm {
				return fs.SkipDir // another table or view lives here
			}
			return nil
		}
		if keep.has(p) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // gone since listed
		}
		if info.ModTime().After(cutoff) {
			return nil
		}
		candidates = append(candidates, p)
		return nil
	})
	if err != nil {
		return res, err
	}
	j.metrics.orphansFound.Add(float64(len(candidates)))
	res.Deleted, err = j.deleteUnprotected(ctx, JobOrphanFiles, root, candidates, keep)
	return res, err
}

func errorsIsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
