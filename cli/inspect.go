package cli

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
)

func cmdCheck(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	if _, err := r.parse(fs, args, 0, 0); err != nil {
		return err
	}
	cat, err := r.catalog(ctx)
	if err != nil {
		return err
	}
	if _, err := cat.ListNamespaces(ctx, nil); err != nil {
		return fmt.Errorf("list namespaces at %s: %w", r.cfg.URI, err)
	}
	fmt.Fprintln(r.stdout, "OK")
	return nil
}

func listTables(ctx context.Context, cat *rest.Catalog, ns table.Identifier) ([]string, error) {
	tables := []string{}
	for id, err := range cat.ListTables(ctx, ns) {
		if err != nil {
			return nil, fmt.Errorf("list tables of %s: %w", strings.Join(ns, "."), err)
		}
		tables = append(tables, strings.Join(id, "."))
	}
	sort.Strings(tables)
	return tables, nil
}

func cmdListNamespaces(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("list-namespaces", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON instead of YAML")
	pos, err := r.parse(fs, args, 0, 1)
	if err != nil {
		return err
	}
	var parent table.Identifier
	if len(pos) == 1 {
		if parent, err = splitName(pos[0]); err != nil {
			return err
		}
	}
	cat, err := r.catalog(ctx)
	if err != nil {
		return err
	}
	nss, err := cat.ListNamespaces(ctx, parent)
	if err != nil {
		return fmt.Errorf("list namespaces: %w", err)
	}
	out := []string{}
	for _, ns := range nss {
		out = append(out, strings.Join(ns, "."))
	}
	sort.Strings(out)
	return emit(r.stdout, out, *asJSON)
}

func cmdListTables(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("list-tables", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON instead of YAML")
	pos, err := r.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	cat, ns, err := r.openNamespace(ctx, pos[0])
	if err != nil {
		return err
	}
	tables, err := listTables(ctx, cat, ns)
	if err != nil {
		return err
	}
	return emit(r.stdout, tables, *asJSON)
}

func cmdListSnapshots(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("list-snapshots", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON instead of YAML")
	pos, err := r.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	tbl, err := r.openTable(ctx, pos[0])
	if err != nil {
		return err
	}
	out := []snapshotInfo{}
	cur := tbl.CurrentSnapshot()
	for _, s := range tbl.Metadata().Snapshots() {
		si := snapshot(s)
		si.Current = cur != nil && cur.SnapshotID == s.SnapshotID
		out = append(out, si)
	}
	return emit(r.stdout, out, *asJSON)
}

type fileInfo struct {
	Path        string         `json:"path"`
	Format      string         `json:"format"`
	Records     int64          `json:"records"`
	SizeBytes   int64          `json:"sizeBytes"`
	Partition   map[string]any `json:"partition,omitempty"`
	DeleteFiles int            `json:"deleteFiles,omitempty"`
}

// partitionValues names a data file's partition values by partition field.
func partitionValues(spec iceberg.PartitionSpec, df iceberg.DataFile) map[string]any {
	if spec.NumFields() == 0 {
		return nil
	}
	vals := df.Partition()
	out := map[string]any{}
	for _, f := range spec.Fields() {
		out[f.Name] = formatPartition(f, vals[f.FieldID])
	}
	return out
}

// formatPartition prints the value of a time partition the way Iceberg
// paths do (day 2025-03-01, month 2025-03, year 2025, hour 2025-03-01-05)
// instead of as a count since 1970.
func formatPartition(f iceberg.PartitionField, v any) any {
	n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64)
	if v == nil || err != nil {
		return displayValue(v)
	}
	epoch := time.Unix(0, 0).UTC()
	switch f.Transform.(type) {
	case iceberg.YearTransform:
		return fmt.Sprint(1970 + n)
	case iceberg.MonthTransform:
		return epoch.AddDate(0, int(n), 0).Format("2006-01")
	case iceberg.DayTransform:
		return epoch.AddDate(0, 0, int(n)).Format("2006-01-02")
	case iceberg.HourTransform:
		return epoch.Add(time.Duration(n) * time.Hour).Format("2006-01-02-15")
	}
	return displayValue(v)
}

// displayValue turns iceberg-go's partition values (some of them typed
// integers such as iceberg.Date) into plain values for printing.
func displayValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int32, int64, float32, float64:
		return x
	case fmt.Stringer:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

func cmdFiles(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("files", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON instead of YAML")
	pos, err := r.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	tbl, files, err := r.openTableFiles(ctx, pos[0])
	if err != nil {
		return err
	}
	out := []fileInfo{}
	for _, t := range files {
		df := t.File
		out = append(out, fileInfo{
			Path: df.FilePath(), Format: string(df.FileFormat()), Records: df.Count(), SizeBytes: df.FileSizeBytes(),
			Partition: partitionValues(specOf(tbl, df), df), DeleteFiles: len(t.DeleteFiles),
		})
	}
	return emit(r.stdout, out, *asJSON)
}

// dataFiles lists the data files of the current snapshot, sorted by path.
func dataFiles(ctx context.Context, tbl *table.Table) ([]table.FileScanTask, error) {
	if tbl.CurrentSnapshot() == nil {
		return nil, nil
	}
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan files: %w", err)
	}
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].File.FilePath() < tasks[j].File.FilePath() })
	return tasks, nil
}

func specOf(tbl *table.Table, df iceberg.DataFile) iceberg.PartitionSpec {
	for _, s := range tbl.Metadata().PartitionSpecs() {
		if s.ID() == int(df.SpecID()) {
			return s
		}
	}
	return tbl.Spec()
}

type partitionInfo struct {
	Partition map[string]any `json:"partition"`
	Files     int            `json:"files"`
	Records   int64          `json:"records"`
	SizeBytes int64          `json:"sizeBytes"`
}

func cmdListPartitions(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("list-partitions", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON instead of YAML")
	pos, err := r.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	tbl, files, err := r.openTableFiles(ctx, pos[0])
	if err != nil {
		return err
	}
	byKey := map[string]*partitionInfo{}
	var keys []string
	for _, t := range files {
		pv := partitionValues(specOf(tbl, t.File), t.File)
		key := fmt.Sprint(pv) // fmt prints maps sorted by key
		p, ok := byKey[key]
		if !ok {
			if pv == nil {
				pv = map[string]any{}
			}
			p = &partitionInfo{Partition: pv}
			byKey[key] = p
			keys = append(keys, key)
		}
		p.Files++
		p.Records += t.File.Count()
		p.SizeBytes += t.File.FileSizeBytes()
	}
	sort.Strings(keys)
	out := []partitionInfo{}
	for _, k := range keys {
		out = append(out, *byKey[k])
	}
	return emit(r.stdout, out, *asJSON)
}
