package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// partitionFilter is one element of delete --partition, as in the Java
// tool: [{"name":"region","values":["eu","us"]}]. name is a partition
// field (or its source column); a file matches when its value for that
// field is one of values, given either as the partition value itself or as
// a value of the source column, which is then transformed (a timestamp for
// a day partition, say). A file must match every element.
type partitionFilter struct {
	Name   string `json:"name"`
	Values []any  `json:"values"`
}

func cmdDelete(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("delete", flag.ContinueOnError)
	partJSON := fs.String("partition", "", `partitions whose data files to delete, e.g. [{"name":"region","values":["eu"]}]`)
	dryRun := fs.Bool("dry-run", true, "only print the files that would be deleted; --dry-run=false deletes them")
	asJSON := fs.Bool("json", false, "print JSON instead of YAML")
	pos, err := r.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	var filters []partitionFilter
	if err := decodeStrict("--partition", *partJSON, &filters); err != nil || len(filters) == 0 {
		return usagef("--partition: want a non-empty JSON list of {\"name\",\"values\"}")
	}
	tbl, tasks, err := r.openTableFiles(ctx, pos[0])
	if err != nil {
		return err
	}
	var matched []iceberg.DataFile
	var paths []string
	for _, t := range tasks {
		ok, err := matchesAll(tbl, specOf(tbl, t.File), t.File, filters)
		if err != nil {
			return err
		}
		if ok {
			matched = append(matched, t.File)
			paths = append(paths, t.File.FilePath())
		}
	}
	if *dryRun || len(matched) == 0 {
		if len(matched) > 0 {
			r.log.Info("dry run: these files would be deleted; repeat with --dry-run=false to delete them", "files", len(matched))
		}
		return emit(r.stdout, struct {
			DryRun bool     `json:"dryRun"`
			Files  []string `json:"files"`
		}{*dryRun, append([]string{}, paths...)}, *asJSON)
	}
	txn := tbl.NewTransaction()
	if err := txn.ReplaceDataFilesWithDataFiles(ctx, matched, nil, nil); err != nil {
		return fmt.Errorf("delete from %s: %w", pos[0], err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		return fmt.Errorf("delete from %s: commit: %w", pos[0], err)
	}
	r.log.Info("deleted data files", "table", pos[0], "files", len(matched))
	return emit(r.stdout, struct {
		DryRun bool     `json:"dryRun"`
		Files  []string `json:"files"`
	}{false, paths}, *asJSON)
}

func matchesAll(tbl *table.Table, spec iceberg.PartitionSpec, df iceberg.DataFile, filters []partitionFilter) (bool, error) { //nolint:gocritic // small value
	vals := df.Partition()
	for _, f := range filters {
		field, ok := findPartitionField(tbl.Schema(), spec, f.Name)
		if !ok {
			return false, usagef("--partition: the table has no partition field or partitioned column %q", f.Name)
		}
		have := fmt.Sprint(formatPartition(field, vals[field.FieldID]))
		hit := false
		for _, v := range f.Values {
			for _, want := range candidates(tbl.Schema(), field, v) {
				if want == have {
					hit = true
				}
			}
		}
		if !hit {
			return false, nil
		}
	}
	return true, nil
}

func findPartitionField(sc *iceberg.Schema, spec iceberg.PartitionSpec, name string) (iceberg.PartitionField, bool) { //nolint:gocritic // small value
	for _, f := range spec.Fields() {
		if f.Name == name {
			return f, true
		}
	}
	for _, f := range spec.Fields() {
		if col, ok := sc.FindColumnName(f.SourceID()); ok && col == name {
			return f, true
		}
	}
	return iceberg.PartitionField{}, false
}

// candidates are the printed partition values a filter value may stand
// for: itself, and its transform when it parses as a source column value.
func candidates(sc *iceberg.Schema, field iceberg.PartitionField, v any) []string {
	out := []string{fmt.Sprint(v)}
	if n, ok := v.(float64); ok && n == float64(int64(n)) {
		out = append(out, fmt.Sprint(int64(n))) // JSON numbers are floats
	}
	src, ok := sc.FindFieldByID(field.SourceID())
	if !ok {
		return out
	}
	text := fmt.Sprint(v)
	if b, err := json.Marshal(v); err == nil && len(b) > 0 && b[0] != '"' {
		text = string(b)
	}
	lit, err := iceberg.NewLiteral(text).To(src.Type)
	if err != nil {
		return out
	}
	res := field.Transform.Apply(iceberg.Optional[iceberg.Literal]{Valid: true, Val: lit})
	if res.Valid {
		out = append(out, fmt.Sprint(formatPartition(field, res.Val.Any())))
	}
	return out
}
