package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetFile is an open Parquet file: its footer and an Arrow view of it.
type parquetFile struct {
	src    *source
	rc     readerAt
	pf     *file.Reader
	arrow  *pqarrow.FileReader
	schema *arrow.Schema
}

// openParquet reads the footer of src. Close releases it.
func openParquet(ctx context.Context, src *source) (*parquetFile, error) {
	rc, err := src.Open(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkParquetMagic(rc, src.Size); err != nil {
		rc.Close()
		return nil, &fileError{src.URI, err}
	}
	pf, err := file.NewParquetReader(io.NewSectionReader(rc, 0, src.Size))
	if err != nil {
		rc.Close()
		return nil, &fileError{src.URI, fmt.Errorf("not a readable Parquet file: %w", err)}
	}
	ar, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 * 1024, Parallel: false}, memory.DefaultAllocator)
	if err != nil {
		pf.Close()
		rc.Close()
		return nil, &fileError{src.URI, err}
	}
	sc, err := ar.Schema()
	if err != nil {
		pf.Close()
		rc.Close()
		return nil, &fileError{src.URI, fmt.Errorf("read Arrow schema: %w", err)}
	}
	return &parquetFile{src: src, rc: rc, pf: pf, arrow: ar, schema: sc}, nil
}

// fileError is an error about one input file; it names the file, so
// callers that name files do not name it twice.
type fileError struct {
	uri string
	err error
}

func (e *fileError) Error() string { return e.uri + ": " + e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }

// errNotParquet is what a file gets that does not start and end with the
// Parquet magic, whatever its name: the Parquet reader would only say that
// the footer's size does not fit.
var errNotParquet = errors.New("not a Parquet file (no PAR1 magic)")

func checkParquetMagic(r io.ReaderAt, size int64) error {
	const magic = "PAR1"
	if size < 12 { // magic, footer length, magic
		return fmt.Errorf("%w: %d bytes", errNotParquet, size)
	}
	head, tail := make([]byte, 4), make([]byte, 4)
	if _, err := r.ReadAt(head, 0); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if _, err := r.ReadAt(tail, size-4); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if string(head) != magic || string(tail) != magic {
		return errNotParquet
	}
	return nil
}

func (p *parquetFile) Close() {
	p.pf.Close()
	p.rc.Close()
}

type parquetColumn struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Nullable    bool   `json:"nullable"`
	Physical    string `json:"physicalType,omitempty"`
	Compression string `json:"compression,omitempty"`
}

type parquetRowGroup struct {
	Rows           int64 `json:"rows"`
	SizeBytes      int64 `json:"totalByteSize"`
	CompressedSize int64 `json:"compressedSize"`
}

type parquetInfo struct {
	File      string            `json:"file"`
	SizeBytes int64             `json:"sizeBytes"`
	Rows      int64             `json:"rows"`
	RowGroups int               `json:"rowGroups"`
	CreatedBy string            `json:"createdBy,omitempty"`
	Columns   []parquetColumn   `json:"columns,omitempty"`
	Groups    []parquetRowGroup `json:"rowGroupDetails,omitempty"`
}

func cmdDescribeParquet(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("describe-parquet", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON instead of YAML")
	all := fs.Bool("a", false, "show everything")
	fs.BoolVar(all, "all", false, "same as -a")
	fs.Bool("s", true, "show the summary (always shown)")
	fs.Bool("summary", true, "same as -s")
	cols := fs.Bool("columns", false, "show columns")
	groups := fs.Bool("r", false, "show row groups")
	fs.BoolVar(groups, "row-groups", false, "same as -r")
	var s3a s3InputArgs
	s3a.registerUnsigned(fs)
	pos, err := r.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	in := r.newInputs()
	in.s3Args = s3a
	defer in.Close()
	srcs, err := in.resolve(ctx, pos)
	if err != nil {
		return err
	}
	var out []parquetInfo
	for _, src := range srcs {
		p, err := openParquet(ctx, src)
		if err != nil {
			return err
		}
		out = append(out, describeParquet(p, *all || *cols, *all || *groups))
		p.Close()
	}
	if len(out) == 1 {
		return emit(r.stdout, out[0], *asJSON)
	}
	return emit(r.stdout, out, *asJSON)
}

func describeParquet(p *parquetFile, withColumns, withGroups bool) parquetInfo {
	md := p.pf.MetaData()
	info := parquetInfo{File: p.src.URI, SizeBytes: p.src.Size, Rows: p.pf.NumRows(), RowGroups: p.pf.NumRowGroups(), CreatedBy: md.GetCreatedBy()}
	if withColumns {
		// Leaf column i is field i only until the first nested field, which
		// spans several leaves.
		flat := true
		for i, f := range p.schema.Fields() {
			c := parquetColumn{Name: f.Name, Type: f.Type.String(), Nullable: f.Nullable}
			flat = flat && !isNested(f.Type)
			if flat && p.pf.NumRowGroups() > 0 && i < md.RowGroup(0).NumColumns() {
				if cc, err := md.RowGroup(0).ColumnChunk(i); err == nil {
					c.Physical, c.Compression = cc.Type().String(), cc.Compression().String()
				}
			}
			info.Columns = append(info.Columns, c)
		}
	}
	if withGroups {
		for i := 0; i < p.pf.NumRowGroups(); i++ {
			rg := md.RowGroup(i)
			info.Groups = append(info.Groups, parquetRowGroup{Rows: rg.NumRows(), SizeBytes: rg.TotalByteSize(), CompressedSize: rg.TotalCompressedSize()})
		}
	}
	return info
}

// isNested reports whether a column spans several Parquet leaf columns, in
// which case the leaf index no longer matches the field index.
func isNested(t arrow.DataType) bool {
	_, ok := t.(arrow.NestedType)
	return ok
}
