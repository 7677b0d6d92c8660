package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/apache/iceberg-go/table"
)

func cmdScan(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	limit := fs.Int64("limit", 10, "number of rows to print")
	asJSON := fs.Bool("json", false, "print JSON instead of YAML")
	snapshot := fs.Int64("snapshot-id", 0, "read this snapshot instead of the current one (time travel)")
	pos, err := r.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("--limit must be >= 0")
	}
	tbl, err := r.openTable(ctx, pos[0])
	if err != nil {
		return err
	}
	opts := []table.ScanOption{table.WithLimit(*limit)}
	if *snapshot != 0 {
		if tbl.SnapshotByID(*snapshot) == nil {
			return fmt.Errorf("scan %s: no snapshot %d (see ice list-snapshots %s)", pos[0], *snapshot, pos[0])
		}
		opts = append(opts, table.WithSnapshotID(*snapshot))
	}
	rows := []json.RawMessage{}
	if (tbl.CurrentSnapshot() != nil || *snapshot != 0) && *limit > 0 {
		_, recs, err := tbl.Scan(opts...).ToArrowRecords(ctx)
		if err != nil {
			return fmt.Errorf("scan %s: %w", pos[0], err)
		}
		for rec, err := range recs {
			if err != nil {
				return fmt.Errorf("scan %s: %w", pos[0], err)
			}
			// arrow-go renders a batch as a JSON array of row objects.
			b, err := rec.MarshalJSON()
			rec.Release()
			if err != nil {
				return fmt.Errorf("scan %s: render rows: %w", pos[0], err)
			}
			var batch []json.RawMessage
			if err := json.Unmarshal(b, &batch); err != nil {
				return fmt.Errorf("scan %s: render rows: %w", pos[0], err)
			}
			rows = append(rows, batch...)
			if int64(len(rows)) >= *limit {
				rows = rows[:*limit]
				break
			}
		}
	}
	return emit(r.stdout, rows, *asJSON)
}
