package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	"github.com/klauspost/compress/zstd"
)

// tableSpecArgs are the table-shape flags create-table and insert -p share.
type tableSpecArgs struct {
	partition string
	sort      string
	location  string
}

func (a *tableSpecArgs) register(fs *flag.FlagSet) {
	fs.StringVar(&a.partition, "partition", "", `partition spec JSON, e.g. [{"column":"ts","transform":"day"}]; transforms: identity, year, month, day, hour, bucket[N], truncate[N]`)
	fs.StringVar(&a.sort, "sort", "", `sort order JSON, e.g. [{"column":"id","desc":false,"nullFirst":false}]`)
}

func cmdCreateTable(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("create-table", flag.ContinueOnError)
	var spec tableSpecArgs
	spec.register(fs)
	fs.StringVar(&spec.location, "location", "", "table location (default: chosen by the catalog)")
	schemaFrom := fs.String("schema-from-parquet", "", "Parquet `file` (path, http(s):// or s3://) whose schema the table gets")
	ifNotExists := fs.Bool("p", false, "no error if the table exists")
	var s3a s3InputArgs
	s3a.registerUnsigned(fs)
	pos, err := r.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if *schemaFrom == "" {
		return usagef("--schema-from-parquet is required")
	}
	ident, err := tableIdent(pos[0])
	if err != nil {
		return err
	}
	cat, err := r.catalog(ctx)
	if err != nil {
		return err
	}
	in := r.newInputs()
	in.s3Args = s3a
	defer in.Close()
	srcs, err := in.resolve(ctx, []string{*schemaFrom})
	if err != nil {
		return err
	}
	_, err = r.createTable(ctx, cat, ident, srcs[0], spec, *ifNotExists)
	return err
}

// createTable creates ident with the schema of the Parquet file src. With
// ifNotExists an existing table is loaded and returned instead.
func (r *run) createTable(ctx context.Context, cat *rest.Catalog, ident table.Identifier, src *source, a tableSpecArgs, ifNotExists bool) (*table.Table, error) {
	name := strings.Join(ident, ".")
	if ifNotExists {
		if tbl, err := cat.LoadTable(ctx, ident); err == nil {
			r.log.Info("table already exists", "table", name)
			return tbl, nil
		} else if !errors.Is(err, catalog.ErrNoSuchTable) {
			return nil, fmt.Errorf("load table %s: %w", name, err)
		}
	}
	p, err := openParquet(ctx, src)
	if err != nil {
		return nil, err
	}
	arrowSchema := p.schema
	p.Close()
	sc, err := table.ArrowSchemaToIcebergWithFreshIDs(arrowSchema, true)
	if err != nil {
		return nil, fmt.Errorf("schema of %s: %w", src.URI, err)
	}
	var opts []catalog.CreateTableOpt
	spec, err := parsePartition(a.partition, sc)
	if err != nil {
		return nil, err
	}
	if spec != nil {
		opts = append(opts, catalog.WithPartitionSpec(spec))
	}
	order, err := parseSort(a.sort, sc)
	if err != nil {
		return nil, err
	}
	if order != nil {
		opts = append(opts, catalog.WithSortOrder(*order))
	}
	if a.location != "" {
		opts = append(opts, catalog.WithLocation(a.location))
	}
	tbl, err := cat.CreateTable(ctx, ident, sc, opts...)
	if errors.Is(err, catalog.ErrTableAlreadyExists) && ifNotExists {
		// Someone else created it between our load and create.
		return cat.LoadTable(ctx, ident)
	}
	if err != nil {
		return nil, fmt.Errorf("create table %s: %w", name, err)
	}
	r.log.Info("created table", "table", name, "location", tbl.Location())
	return tbl, nil
}

func cmdDeleteTable(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("delete-table", flag.ContinueOnError)
	purge := fs.Bool("purge", false, "also delete the table's files")
	ignoreMissing := fs.Bool("p", false, "no error if the table does not exist")
	pos, err := r.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	ident, err := tableIdent(pos[0])
	if err != nil {
		return err
	}
	cat, err := r.catalog(ctx)
	if err != nil {
		return err
	}
	if *purge {
		err = cat.PurgeTable(ctx, ident)
	} else {
		err = cat.DropTable(ctx, ident)
	}
	if errors.Is(err, catalog.ErrNoSuchTable) && *ignoreMissing {
		r.log.Info("table does not exist", "table", pos[0])
		return nil
	}
	if errors.Is(err, catalog.ErrNoSuchTable) || errors.Is(err, catalog.ErrNoSuchNamespace) {
		return fmt.Errorf("delete table %s: %w (add -p for no error when it does not exist)", pos[0], err)
	}
	if err != nil {
		return fmt.Errorf("delete table %s: %w", pos[0], err)
	}
	r.log.Info("deleted table", "table", pos[0], "purge", *purge)
	return nil
}

// alterOp is one element of alter-table's JSON list; the op names and
// parameters are the Java tool's.
type alterOp struct {
	Op      string  `json:"op"`
	Name    string  `json:"name"`
	Type    string  `json:"type"`
	Doc     string  `json:"doc"`
	NewName string  `json:"new_name"`
	Key     string  `json:"key"`
	Value   *string `json:"value"`
}

const alterOps = "add_column, alter_column, rename_column, drop_column, set_tblproperty, drop_partition_field"

func parseType(s string) (iceberg.Type, error) {
	var f iceberg.NestedField
	b, _ := json.Marshal(map[string]any{"id": 1, "name": "x", "type": s, "required": false})
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("type %q: %w", s, err)
	}
	return f.Type, nil
}

func cmdAlterTable(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("alter-table", flag.ContinueOnError)
	pos, err := r.parse(fs, args, 2, 2)
	if err != nil {
		return err
	}
	var ops []alterOp
	if err := decodeStrict("updates", pos[1], &ops); err != nil {
		return err
	}
	if len(ops) == 0 {
		return usagef("no operations; supported: %s", alterOps)
	}
	tbl, err := r.openTable(ctx, pos[0])
	if err != nil {
		return err
	}
	txn := tbl.NewTransaction()
	// Schema changes go into one UpdateSchema so that they see each other
	// (add then rename, ...); it is committed into the transaction below.
	var us *table.UpdateSchema
	schema := func() *table.UpdateSchema {
		if us == nil {
			us = txn.UpdateSchema(true, false)
		}
		return us
	}
	set, remove := iceberg.Properties{}, []string{}
	var specUpdate *table.UpdateSpec
	for _, op := range ops {
		path := strings.Split(op.Name, ".")
		switch op.Op {
		case "add_column", "alter_column":
			typ, err := parseType(op.Type)
			if err != nil {
				return usagef("%s %s: %v", op.Op, op.Name, err)
			}
			if op.Op == "add_column" {
				schema().AddColumn(path, typ, op.Doc, false, nil)
			} else {
				schema().UpdateColumn(path, table.ColumnUpdate{FieldType: iceberg.Optional[iceberg.Type]{Valid: true, Val: typ}})
			}
		case "rename_column":
			if op.NewName == "" {
				return usagef("rename_column %s: new_name is required", op.Name)
			}
			schema().RenameColumn(path, op.NewName)
		case "drop_column":
			schema().DeleteColumn(path)
		case "set_tblproperty":
			if op.Key == "" {
				return usagef("set_tblproperty: key is required")
			}
			if op.Value == nil {
				remove = append(remove, op.Key)
			} else {
				set[op.Key] = *op.Value
			}
		case "drop_partition_field":
			if specUpdate == nil {
				specUpdate = txn.UpdateSpec(true)
			}
			specUpdate.RemoveField(op.Name)
		default:
			return usagef("unsupported op %q; supported: %s", op.Op, alterOps)
		}
	}
	if us != nil {
		if err := us.Commit(); err != nil {
			return fmt.Errorf("alter table %s: %w", pos[0], err)
		}
	}
	if specUpdate != nil {
		if err := specUpdate.Commit(); err != nil {
			return fmt.Errorf("alter table %s: %w", pos[0], err)
		}
	}
	if len(set) > 0 {
		if err := txn.SetProperties(set); err != nil {
			return fmt.Errorf("alter table %s: %w", pos[0], err)
		}
	}
	if len(remove) > 0 {
		if err := txn.RemoveProperties(remove); err != nil {
			return fmt.Errorf("alter table %s: %w", pos[0], err)
		}
	}
	if _, err := txn.Commit(ctx); err != nil {
		return fmt.Errorf("alter table %s: commit: %w", pos[0], err)
	}
	r.log.Info("altered table", "table", pos[0], "operations", len(ops))
	return nil
}

func cmdDescribeMetadata(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("describe-metadata", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON instead of YAML")
	pos, err := r.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	b, err := r.readWhole(ctx, pos[0])
	if err != nil {
		return err
	}
	if b, err = decompress(b); err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	md, err := table.ParseMetadataBytes(b)
	if err != nil {
		return fmt.Errorf("%s: not Iceberg table metadata: %w", pos[0], err)
	}
	info := describeMetadata(md)
	snaps := []snapshotInfo{}
	for _, s := range md.Snapshots() {
		snaps = append(snaps, snapshot(s))
	}
	return emit(r.stdout, struct {
		File string `json:"file"`
		tableInfo
		Snapshots []snapshotInfo `json:"snapshots"`
	}{pos[0], info, snaps}, *asJSON)
}

// readWhole reads a small file (metadata JSON) from a path, URL or s3://.
func (r *run) readWhole(ctx context.Context, uri string) ([]byte, error) {
	if !strings.Contains(uri, "://") || strings.HasPrefix(uri, "file://") {
		b, err := os.ReadFile(strings.TrimPrefix(uri, "file://"))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", uri, err)
		}
		return b, nil
	}
	in := r.newInputs()
	defer in.Close()
	srcs, err := in.resolve(ctx, []string{uri})
	if err != nil {
		return nil, err
	}
	rc, err := srcs[0].Open(ctx)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b := make([]byte, srcs[0].Size)
	if _, err := rc.ReadAt(b, 0); err != nil && len(b) > 0 {
		return nil, fmt.Errorf("read %s: %w", uri, err)
	}
	return b, nil
}

// decompress unpacks gzip or zstd metadata files (.gz.metadata.json,
// .zstd.metadata.json), recognised by their magic numbers.
func decompress(b []byte) ([]byte, error) {
	var rd io.Reader
	switch {
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("gunzip: %w", err)
		}
		defer zr.Close()
		rd = zr
	case bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		defer zr.Close()
		rd = zr
	default:
		return b, nil
	}
	out, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	return out, nil
}
