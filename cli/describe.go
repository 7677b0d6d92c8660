package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
)

type namespaceInfo struct {
	Namespace  string            `json:"namespace"`
	Properties map[string]string `json:"properties,omitempty"`
	Tables     []string          `json:"tables"`
}

func cmdDescribe(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("describe", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON instead of YAML")
	// -s, -p, -m, -a select sections in the Java tool; everything is shown here.
	for _, f := range []string{"s", "p", "m", "a"} {
		fs.Bool(f, false, "accepted for compatibility; all sections are shown")
	}
	pos, err := r.parse(fs, args, 0, 1)
	if err != nil {
		return err
	}
	cat, err := r.catalog(ctx)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		nss, err := allNamespaces(ctx, cat, nil)
		if err != nil {
			return err
		}
		out := []namespaceInfo{}
		for _, ns := range nss {
			info, err := describeNamespace(ctx, cat, ns)
			if err != nil {
				return err
			}
			out = append(out, info)
		}
		return emit(r.stdout, out, *asJSON)
	}
	parts, err := splitName(pos[0])
	if err != nil {
		return err
	}
	if len(parts) >= 2 {
		tbl, err := cat.LoadTable(ctx, parts)
		if err == nil {
			return emit(r.stdout, describeTable(pos[0], tbl), *asJSON)
		}
		if !errors.Is(err, catalog.ErrNoSuchTable) && !errors.Is(err, catalog.ErrNoSuchNamespace) {
			return fmt.Errorf("load table %s: %w", pos[0], err)
		}
	}
	info, err := describeNamespace(ctx, cat, parts)
	if err != nil {
		return err
	}
	return emit(r.stdout, info, *asJSON)
}

func allNamespaces(ctx context.Context, cat *rest.Catalog, parent table.Identifier) ([]table.Identifier, error) {
	children, err := cat.ListNamespaces(ctx, parent)
	if err != nil {
		return nil, fmt.Errorf("list namespaces of %q: %w", strings.Join(parent, "."), err)
	}
	var out []table.Identifier
	for _, c := range children {
		out = append(out, c)
		sub, err := allNamespaces(ctx, cat, c)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

func describeNamespace(ctx context.Context, cat *rest.Catalog, ns table.Identifier) (namespaceInfo, error) {
	name := strings.Join(ns, ".")
	props, err := cat.LoadNamespaceProperties(ctx, ns)
	if err != nil {
		return namespaceInfo{}, fmt.Errorf("load namespace %s: %w", name, err)
	}
	tables, err := listTables(ctx, cat, ns)
	if err != nil {
		return namespaceInfo{}, err
	}
	return namespaceInfo{Namespace: name, Properties: props, Tables: tables}, nil
}

type columnInfo struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Required bool   `json:"required,omitempty"`
	Doc      string `json:"doc,omitempty"`
}

type partitionFieldInfo struct {
	Name      string `json:"name"`
	Column    string `json:"column"`
	Transform string `json:"transform"`
}

type sortFieldInfo struct {
	Column    string `json:"column"`
	Transform string `json:"transform,omitempty"`
	Desc      bool   `json:"desc"`
	NullFirst bool   `json:"nullFirst"`
}

type snapshotInfo struct {
	ID        int64             `json:"id"`
	ParentID  *int64            `json:"parentId,omitempty"`
	Timestamp string            `json:"timestamp"`
	Operation string            `json:"operation,omitempty"`
	Summary   map[string]string `json:"summary,omitempty"`
	Manifest  string            `json:"manifestList,omitempty"`
	Current   bool              `json:"current,omitempty"`
}

type tableInfo struct {
	Table            string               `json:"table"`
	UUID             string               `json:"uuid"`
	FormatVersion    int                  `json:"formatVersion"`
	Location         string               `json:"location"`
	MetadataLocation string               `json:"metadataLocation,omitempty"`
	Schema           []columnInfo         `json:"schema"`
	Partition        []partitionFieldInfo `json:"partitionSpec"`
	SortOrder        []sortFieldInfo      `json:"sortOrder"`
	Properties       map[string]string    `json:"properties,omitempty"`
	CurrentSnapshot  *snapshotInfo        `json:"currentSnapshot,omitempty"`
}

func describeTable(name string, tbl *table.Table) tableInfo {
	info := describeMetadata(tbl.Metadata())
	info.Table = name
	info.MetadataLocation = tbl.MetadataLocation()
	return info
}

func describeMetadata(md table.Metadata) tableInfo {
	sc := md.CurrentSchema()
	info := tableInfo{
		UUID:          md.TableUUID().String(),
		FormatVersion: md.Version(),
		Location:      md.Location(),
		Schema:        columns(sc),
		Partition:     partitionFields(md.PartitionSpec(), sc),
		SortOrder:     sortFields(md.SortOrder(), sc),
		Properties:    md.Properties(),
	}
	if s := md.CurrentSnapshot(); s != nil {
		si := snapshot(*s)
		info.CurrentSnapshot = &si
	}
	return info
}

func columns(sc *iceberg.Schema) []columnInfo {
	out := []columnInfo{}
	for _, f := range sc.Fields() {
		out = append(out, columnInfo{ID: f.ID, Name: f.Name, Type: f.Type.String(), Required: f.Required, Doc: f.Doc})
	}
	return out
}

func columnName(sc *iceberg.Schema, id int) string {
	if n, ok := sc.FindColumnName(id); ok {
		return n
	}
	return fmt.Sprintf("#%d", id)
}

func partitionFields(spec iceberg.PartitionSpec, sc *iceberg.Schema) []partitionFieldInfo { //nolint:gocritic // small value
	out := []partitionFieldInfo{}
	for _, f := range spec.Fields() {
		out = append(out, partitionFieldInfo{Name: f.Name, Column: columnName(sc, f.SourceID()), Transform: f.Transform.String()})
	}
	return out
}

func sortFields(order table.SortOrder, sc *iceberg.Schema) []sortFieldInfo {
	out := []sortFieldInfo{}
	for _, f := range order.Fields() {
		si := sortFieldInfo{Desc: f.Direction == table.SortDESC, NullFirst: f.NullOrder == table.NullsFirst}
		if len(f.SourceIDs) > 0 {
			si.Column = columnName(sc, f.SourceIDs[0])
		}
		if _, ok := f.Transform.(iceberg.IdentityTransform); !ok && f.Transform != nil {
			si.Transform = f.Transform.String()
		}
		out = append(out, si)
	}
	return out
}

func snapshot(s table.Snapshot) snapshotInfo {
	si := snapshotInfo{
		ID:        s.SnapshotID,
		ParentID:  s.ParentSnapshotID,
		Timestamp: time.UnixMilli(s.TimestampMs).UTC().Format(time.RFC3339Nano),
		Manifest:  s.ManifestList,
	}
	if s.Summary != nil {
		si.Operation = string(s.Summary.Operation)
		si.Summary = s.Summary.Properties
	}
	return si
}
