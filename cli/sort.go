package cli

// Sorting the rows of an input file by the table's sort order, as Java
// ice's insert does: a file that is already in order is copied as it is;
// any other file is read whole, sorted in memory and written again.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// sortKey is one column of a sort order, resolved against a record.
type sortKey struct {
	name      string
	desc      bool
	nullFirst bool
}

// sortKeys resolves the table's sort order to column names. Transforms
// that keep their column's order (identity, year, month, day, hour,
// truncate) are sorted by the raw column: rows in the column's order are
// also in the transform's order. bucket and void do not keep it, and such
// an order cannot be applied.
func sortKeys(order table.SortOrder, sc *iceberg.Schema) ([]sortKey, error) {
	var keys []sortKey
	for _, f := range order.Fields() {
		name, ok := sc.FindColumnName(f.SourceID())
		if !ok {
			return nil, fmt.Errorf("sort order: no column with id %d", f.SourceID())
		}
		switch f.Transform.(type) {
		case iceberg.IdentityTransform, iceberg.YearTransform, iceberg.MonthTransform, iceberg.DayTransform,
			iceberg.HourTransform, iceberg.TruncateTransform:
		default:
			return nil, fmt.Errorf("sort order: cannot sort rows by %s(%s), which does not keep the column's order (use --assume-sorted to add the file as it is)", f.Transform, name)
		}
		keys = append(keys, sortKey{name: name, desc: f.Direction == table.SortDESC, nullFirst: f.NullOrder == table.NullsFirst})
	}
	return keys, nil
}

// rowComparator compares two rows of rec by keys.
func rowComparator(rec arrow.RecordBatch, keys []sortKey) (func(i, j int) int, error) {
	type col struct {
		arr  arrow.Array
		cmp  func(i, j int) int
		key  sortKey
		null bool
	}
	cols := make([]col, 0, len(keys))
	for _, k := range keys {
		idx := rec.Schema().FieldIndices(k.name)
		if len(idx) == 0 && strings.Contains(k.name, ".") {
			return nil, fmt.Errorf("cannot sort by the nested column %s (use --assume-sorted to add the file as it is)", k.name)
		}
		if len(idx) == 0 {
			// A column the file lacks is null in every row: it does
			// not order anything.
			continue
		}
		arr := rec.Column(idx[0])
		c, err := valueComparator(arr)
		if err != nil {
			return nil, fmt.Errorf("sort by %s: %w", k.name, err)
		}
		cols = append(cols, col{arr: arr, cmp: c, key: k, null: arr.NullN() > 0})
	}
	return func(i, j int) int {
		for _, c := range cols {
			if c.null {
				ni, nj := c.arr.IsNull(i), c.arr.IsNull(j)
				switch {
				case ni && nj:
					continue
				case ni || nj:
					// nulls first: the null row is smaller.
					if ni == c.key.nullFirst {
						return -1
					}
					return 1
				}
			}
			r := c.cmp(i, j)
			if c.key.desc {
				r = -r
			}
			if r != 0 {
				return r
			}
		}
		return 0
	}, nil
}

// valueComparator compares two non-null values of arr.
func valueComparator(arr arrow.Array) (func(i, j int) int, error) {
	switch a := arr.(type) {
	case *array.Int8:
		return func(i, j int) int { return cmp.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Int16:
		return func(i, j int) int { return cmp.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Int32:
		return func(i, j int) int { return cmp.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Int64:
		return func(i, j int) int { return cmp.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Uint8:
		return func(i, j int) int { return cmp.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Uint16:
		return func(i, j int) int { return cmp.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Uint32:
		return func(i, j int) int { return cmp.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Uint64:
		return func(i, j int) int { return cmp.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Float32:
		return func(i, j int) int { return cmp.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Float64:
		return func(i, j int) int { return cmp.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Date32:
		return func(i, j int) int { return cmp.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Date64:
		return func(i, j int) int { return cmp.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Time32:
		return func(i, j int) int { return cmp.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Time64:
		return func(i, j int) int { return cmp.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Timestamp:
		return func(i, j int) int { return cmp.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Boolean:
		b := func(v bool) int {
			if v {
				return 1
			}
			return 0
		}
		return func(i, j int) int { return cmp.Compare(b(a.Value(i)), b(a.Value(j))) }, nil
	case *array.String:
		return func(i, j int) int { return cmp.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.LargeString:
		return func(i, j int) int { return cmp.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Binary:
		return func(i, j int) int { return slices.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.LargeBinary:
		return func(i, j int) int { return slices.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.FixedSizeBinary:
		return func(i, j int) int { return slices.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Decimal128:
		return func(i, j int) int { return a.Value(i).Cmp(a.Value(j)) }, nil
	default:
		return nil, fmt.Errorf("cannot sort a column of type %s", arr.DataType())
	}
}

// unsortedAt returns the first row of rec that is out of order (-1 when
// rec is sorted by keys).
func unsortedAt(rec arrow.RecordBatch, keys []sortKey) (int, error) {
	less, err := rowComparator(rec, keys)
	if err != nil {
		return 0, err
	}
	for i := 1; i < int(rec.NumRows()); i++ {
		if less(i-1, i) > 0 {
			return i, nil
		}
	}
	return -1, nil
}

// unsortedStream returns the first row of the file that is out of order
// (-1 when it is sorted by keys), reading it batch by batch: each batch
// is checked, and so is each pair of rows across a batch boundary.
func unsortedStream(ctx context.Context, p *parquetFile, keys []sortKey) (int64, error) {
	rr, err := p.arrow.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return 0, fmt.Errorf("read rows: %w", err)
	}
	defer rr.Release()
	var prev arrow.RecordBatch
	defer func() {
		if prev != nil {
			prev.Release()
		}
	}()
	var offset int64
	for rr.Next() {
		rec := rr.RecordBatch()
		if rec.NumRows() == 0 {
			continue
		}
		if prev != nil {
			pair, err := concatRows(prev.NewSlice(prev.NumRows()-1, prev.NumRows()), rec.NewSlice(0, 1))
			if err != nil {
				return 0, err
			}
			at, err := unsortedAt(pair, keys)
			pair.Release()
			if err != nil {
				return 0, err
			}
			if at >= 0 {
				return offset, nil
			}
			prev.Release()
			prev = nil
		}
		at, err := unsortedAt(rec, keys)
		if err != nil {
			return 0, err
		}
		if at >= 0 {
			return offset + int64(at), nil
		}
		rec.Retain()
		prev = rec
		offset += rec.NumRows()
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("read rows: %w", err)
	}
	return -1, nil
}

// concatRows joins two records of one schema (and releases them).
func concatRows(a, b arrow.RecordBatch) (arrow.RecordBatch, error) {
	defer a.Release()
	defer b.Release()
	cols := make([]arrow.Array, a.NumCols())
	for i := range cols {
		c, err := array.Concatenate([]arrow.Array{a.Column(i), b.Column(i)}, memory.DefaultAllocator)
		if err != nil {
			for _, done := range cols[:i] {
				done.Release()
			}
			return nil, fmt.Errorf("read rows: %w", err)
		}
		cols[i] = c
	}
	out := array.NewRecordBatch(a.Schema(), cols, a.NumRows()+b.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}

// readAll reads a whole Parquet file into one record batch.
func readAll(ctx context.Context, p *parquetFile) (arrow.RecordBatch, error) {
	tbl, err := p.arrow.ReadTable(ctx)
	if err != nil {
		return nil, fmt.Errorf("read rows: %w", err)
	}
	defer tbl.Release()
	cols := make([]arrow.Array, tbl.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i := range cols {
		chunks := tbl.Column(i).Data().Chunks()
		if len(chunks) == 0 {
			cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, tbl.Schema().Field(i).Type, 0)
			continue
		}
		if cols[i], err = array.Concatenate(chunks, memory.DefaultAllocator); err != nil {
			return nil, fmt.Errorf("read rows: %w", err)
		}
	}
	return array.NewRecordBatch(tbl.Schema(), cols, tbl.NumRows()), nil
}

// sortRecord returns rec's rows in keys' order (a stable sort, so rows
// with equal keys keep the file's order).
func sortRecord(ctx context.Context, rec arrow.RecordBatch, keys []sortKey) (arrow.RecordBatch, error) {
	less, err := rowComparator(rec, keys)
	if err != nil {
		return nil, err
	}
	n := int(rec.NumRows())
	perm := make([]int64, n)
	for i := range perm {
		perm[i] = int64(i)
	}
	slices.SortStableFunc(perm, func(a, b int64) int { return less(int(a), int(b)) })
	idx := array.NewInt64Data(array.NewData(arrow.PrimitiveTypes.Int64, n, []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(perm))}, nil, 0, 0))
	defer idx.Release()
	cols := make([]arrow.Array, rec.NumCols())
	for i := range cols {
		c, err := compute.TakeArray(ctx, rec.Column(i), idx)
		if err != nil {
			for _, done := range cols[:i] {
				done.Release()
			}
			return nil, fmt.Errorf("reorder column %s: %w", rec.Schema().Field(i).Name, err)
		}
		cols[i] = c
	}
	out := array.NewRecordBatch(rec.Schema(), cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}

var errUnsorted = errors.New("does not appear to be sorted by the table's sort order")
