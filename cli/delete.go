package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"reflect"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// partitionFilter is one element of delete --partition, as in the Java
// tool: [{"name":"region","values":["eu","us"]}]. name is a partition
// field (or its source column); a file matches when its value for that
// field is one of values, given either as the partition value itself or as
// a value of the source column, which is then transformed (a timestamp for
// a day partition, say). op, as in Java ice v0.19, compares instead:
// equals (the default), less_than, greater_than, less_than_or_equal or
// greater_than_or_equal; a file matches when the comparison holds for one
// of values. A file must match every element.
type partitionFilter struct {
	Name   string `json:"name"`
	Op     string `json:"op"`
	Values []any  `json:"values"`
}

// holds reports whether c (the sign of have compared with want) satisfies op.
func holds(op string, c int) bool {
	switch op {
	case "less_than":
		return c < 0
	case "greater_than":
		return c > 0
	case "less_than_or_equal":
		return c <= 0
	case "greater_than_or_equal":
		return c >= 0
	}
	return c == 0
}

func checkOp(f partitionFilter, field iceberg.PartitionField) error { //nolint:gocritic // small value
	switch f.Op {
	case "", "equals":
		return nil
	case "less_than", "greater_than", "less_than_or_equal", "greater_than_or_equal":
		switch field.Transform.(type) {
		case iceberg.BucketTransform, iceberg.TruncateTransform:
			return usagef("--partition: op %q on %q: a %s partition does not keep the order of its column", f.Op, f.Name, field.Transform)
		}
		return nil
	}
	return usagef("--partition: op %q: want equals, less_than, greater_than, less_than_or_equal or greater_than_or_equal", f.Op)
}

// compareValues orders two partition values of the same kind: integers
// (dates, hours and the like too), floats or strings.
func compareValues(a, b any) (int, bool) {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if !va.IsValid() || !vb.IsValid() {
		return 0, false
	}
	isInt := func(v reflect.Value) bool { return v.CanInt() }
	isFloat := func(v reflect.Value) bool { return v.CanFloat() }
	switch {
	case isInt(va) && isInt(vb):
		return cmp.Compare(va.Int(), vb.Int()), true
	case (isInt(va) || isFloat(va)) && (isInt(vb) || isFloat(vb)):
		return cmp.Compare(asFloat(va), asFloat(vb)), true
	case va.Kind() == reflect.String && vb.Kind() == reflect.String:
		return cmp.Compare(va.String(), vb.String()), true
	}
	return 0, false
}

func asFloat(v reflect.Value) float64 {
	if v.CanInt() {
		return float64(v.Int())
	}
	return v.Float()
}

func cmdDelete(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("delete", flag.ContinueOnError)
	partJSON := fs.String("partition", "", `partitions whose data files to delete, e.g. [{"name":"region","values":["eu"]}]`)
	dryRun := fs.Bool("dry-run", true, "only print the files that would be deleted; --dry-run=false deletes them")
	purge := fs.Bool("purge", false, "also delete the matched data files from storage after the commit (time travel to older snapshots then fails); no effect in a dry run")
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
	var purged []string
	if *purge {
		if purged, err = purgeFiles(ctx, r, tbl, paths); err != nil {
			return err
		}
	}
	return emit(r.stdout, struct {
		DryRun bool     `json:"dryRun"`
		Files  []string `json:"files"`
		Purged []string `json:"purged,omitempty"`
	}{false, paths, purged}, *asJSON)
}

// purgeFiles deletes the files, once no longer in the current snapshot,
// from storage, as Java ice's delete --purge does. Only files under the
// table's location are touched; older snapshots that still list them can
// no longer be read.
func purgeFiles(ctx context.Context, r *run, tbl *table.Table, paths []string) ([]string, error) {
	fsys, err := tbl.FS(ctx)
	if err != nil {
		return nil, fmt.Errorf("purge: %w", err)
	}
	root := strings.TrimSuffix(tbl.Location(), "/") + "/"
	var purged []string
	for _, p := range paths {
		if !strings.HasPrefix(p, root) {
			r.log.Warn("purge: not deleting a file outside the table's location", "file", p, "location", tbl.Location())
			continue
		}
		if err := fsys.Remove(p); err != nil {
			return purged, fmt.Errorf("purge %s (the delete is committed; %d files purged): %w", p, len(purged), err)
		}
		purged = append(purged, p)
	}
	r.log.Info("purged data files from storage", "files", len(purged))
	return purged, nil
}

func matchesAll(tbl *table.Table, spec iceberg.PartitionSpec, df iceberg.DataFile, filters []partitionFilter) (bool, error) { //nolint:gocritic // small value
	vals := df.Partition()
	for _, f := range filters {
		field, ok := findPartitionField(tbl.Schema(), spec, f.Name)
		if !ok {
			return false, usagef("--partition: the table has no partition field or partitioned column %q", f.Name)
		}
		if err := checkOp(f, field); err != nil {
			return false, err
		}
		hit := false
		if f.Op == "" || f.Op == "equals" {
			have := fmt.Sprint(formatPartition(field, vals[field.FieldID]))
			for _, v := range f.Values {
				for _, want := range candidates(tbl.Schema(), field, v) {
					if want == have {
						hit = true
					}
				}
			}
		} else {
			for _, v := range f.Values {
				want, ok := orderedCandidate(tbl.Schema(), field, v, vals[field.FieldID])
				if !ok {
					return false, usagef("--partition: %v cannot be compared with the values of %q", v, f.Name)
				}
				if c, ok := compareValues(vals[field.FieldID], want); ok && holds(f.Op, c) {
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

// orderedCandidate is v as a partition value comparable with have: v
// transformed from a source column value, or v itself (a day as the date
// files prints, say, parsed into the partition's type).
func orderedCandidate(sc *iceberg.Schema, field iceberg.PartitionField, v any, have any) (any, bool) { //nolint:gocritic // small value
	text := fmt.Sprint(v)
	if b, err := json.Marshal(v); err == nil && len(b) > 0 && b[0] != '"' {
		text = string(b)
	}
	if src, ok := sc.FindFieldByID(field.SourceID()); ok {
		if lit, err := iceberg.NewLiteral(text).To(src.Type); err == nil {
			if res := field.Transform.Apply(iceberg.Optional[iceberg.Literal]{Valid: true, Val: lit}); res.Valid {
				if _, ok := compareValues(have, res.Val.Any()); ok {
					return res.Val.Any(), true
				}
			}
		}
	}
	if rt := field.Transform.ResultType(mustSourceType(sc, field)); rt != nil {
		if lit, err := iceberg.NewLiteral(text).To(rt); err == nil {
			if _, ok := compareValues(have, lit.Any()); ok {
				return lit.Any(), true
			}
		}
	}
	if _, ok := compareValues(have, v); ok {
		return v, true
	}
	return nil, false
}

func mustSourceType(sc *iceberg.Schema, field iceberg.PartitionField) iceberg.Type { //nolint:gocritic // small value
	if src, ok := sc.FindFieldByID(field.SourceID()); ok {
		return src.Type
	}
	return iceberg.PrimitiveTypes.String
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
