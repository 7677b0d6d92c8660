package rest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"github.com/ice-rest-catalog/ice/service"
)

// The spec's ScanTasks and the content files in it. Column statistics use
// the spec's CountMap and ValueMap: parallel arrays of field IDs and values,
// bounds in Iceberg's single-value binary serialization as uppercase hex.

type scanTasksJSON struct {
	DeleteFiles   []contentFileJSON  `json:"delete-files,omitempty"`
	FileScanTasks []fileScanTaskJSON `json:"file-scan-tasks,omitempty"`
	PlanTasks     []string           `json:"plan-tasks,omitempty"`
}

type fileScanTaskJSON struct {
	DataFile             contentFileJSON `json:"data-file"`
	DeleteFileReferences []int           `json:"delete-file-references,omitempty"`
	ResidualFilter       json.RawMessage `json:"residual-filter,omitempty"`
}

type contentFileJSON struct {
	Content         string    `json:"content"`
	FilePath        string    `json:"file-path"`
	FileFormat      string    `json:"file-format"`
	SpecID          int32     `json:"spec-id"`
	Partition       []any     `json:"partition"`
	FileSizeInBytes int64     `json:"file-size-in-bytes"`
	RecordCount     int64     `json:"record-count"`
	KeyMetadata     string    `json:"key-metadata,omitempty"`
	SplitOffsets    []int64   `json:"split-offsets,omitempty"`
	SortOrderID     *int      `json:"sort-order-id,omitempty"`
	FirstRowID      *int64    `json:"first-row-id,omitempty"`
	ColumnSizes     *countMap `json:"column-sizes,omitempty"`
	ValueCounts     *countMap `json:"value-counts,omitempty"`
	NullValueCounts *countMap `json:"null-value-counts,omitempty"`
	NaNValueCounts  *countMap `json:"nan-value-counts,omitempty"`
	LowerBounds     *valueMap `json:"lower-bounds,omitempty"`
	UpperBounds     *valueMap `json:"upper-bounds,omitempty"`
	// Delete files only.
	EqualityIDs        []int   `json:"equality-ids,omitempty"`
	ContentOffset      *int64  `json:"content-offset,omitempty"`
	ContentSizeInBytes *int64  `json:"content-size-in-bytes,omitempty"`
	ReferencedDataFile *string `json:"referenced-data-file,omitempty"`
}

type countMap struct {
	Keys   []int   `json:"keys"`
	Values []int64 `json:"values"`
}

type valueMap struct {
	Keys   []int    `json:"keys"`
	Values []string `json:"values"`
}

// encodeScanTasks builds one ScanTasks envelope. Delete-file references are
// indices into this envelope's delete-files, each delete file listed once.
func encodeScanTasks(st service.ScanTasks) (scanTasksJSON, error) {
	out := scanTasksJSON{PlanTasks: st.PlanTasks}
	deleteIndex := map[string]int{}
	for _, t := range st.Files {
		data, err := encodeContentFile(st.Metadata, t.File, st.StatsFields)
		if err != nil {
			return scanTasksJSON{}, err
		}
		task := fileScanTaskJSON{DataFile: data}
		for _, del := range slices.Concat(t.DeleteFiles, t.EqualityDeleteFiles, t.DeletionVectorFiles) {
			i, ok := deleteIndex[del.FilePath()]
			if !ok {
				df, err := encodeContentFile(st.Metadata, del, nil)
				if err != nil {
					return scanTasksJSON{}, err
				}
				i = len(out.DeleteFiles)
				deleteIndex[del.FilePath()] = i
				out.DeleteFiles = append(out.DeleteFiles, df)
			}
			task.DeleteFileReferences = append(task.DeleteFileReferences, i)
		}
		if t.Residual != nil {
			if task.ResidualFilter, err = json.Marshal(t.Residual); err != nil {
				// A residual is an optimisation: without it the client
				// applies the scan's own filter.
				task.ResidualFilter = nil
			}
		}
		out.FileScanTasks = append(out.FileScanTasks, task)
	}
	return out, nil
}

func encodeContentFile(md table.Metadata, f iceberg.DataFile, stats map[int]bool) (contentFileJSON, error) {
	out := contentFileJSON{
		FilePath: f.FilePath(), FileFormat: strings.ToLower(string(f.FileFormat())), SpecID: f.SpecID(),
		FileSizeInBytes: f.FileSizeBytes(), RecordCount: f.Count(), SplitOffsets: f.SplitOffsets(),
		SortOrderID: f.SortOrderID(), FirstRowID: f.FirstRowID(),
	}
	switch f.ContentType() {
	case iceberg.EntryContentData:
		out.Content = "data"
	case iceberg.EntryContentPosDeletes:
		out.Content = "position-deletes"
		out.ContentOffset, out.ContentSizeInBytes, out.ReferencedDataFile = f.ContentOffset(), f.ContentSizeInBytes(), f.ReferencedDataFile()
		out.FirstRowID = nil
	case iceberg.EntryContentEqDeletes:
		out.Content = "equality-deletes"
		out.EqualityIDs = f.EqualityFieldIDs()
		out.FirstRowID = nil
	default:
		return contentFileJSON{}, fmt.Errorf("file %s has unknown content %d", f.FilePath(), f.ContentType())
	}
	if km := f.KeyMetadata(); len(km) > 0 {
		out.KeyMetadata = upperHex(km)
	}
	var err error
	if out.Partition, err = encodePartition(md, f); err != nil {
		return contentFileJSON{}, err
	}
	if len(stats) > 0 {
		out.ColumnSizes = encodeCounts(f.ColumnSizes(), stats)
		out.ValueCounts = encodeCounts(f.ValueCounts(), stats)
		out.NullValueCounts = encodeCounts(f.NullValueCounts(), stats)
		out.NaNValueCounts = encodeCounts(f.NaNValueCounts(), stats)
		out.LowerBounds = encodeValues(f.LowerBoundValues(), stats)
		out.UpperBounds = encodeValues(f.UpperBoundValues(), stats)
	}
	return out, nil
}

// encodePartition lists the file's partition values in the order of its
// spec's fields, each as the spec's JSON for the transform's result type.
func encodePartition(md table.Metadata, f iceberg.DataFile) ([]any, error) {
	spec := md.PartitionSpecByID(int(f.SpecID()))
	if spec == nil {
		return nil, fmt.Errorf("file %s names partition spec %d, which the table does not have", f.FilePath(), f.SpecID())
	}
	ptype := spec.PartitionType(md.CurrentSchema())
	values := f.Partition()
	out := make([]any, 0, len(ptype.FieldList))
	for _, field := range ptype.FieldList {
		v, err := partitionValue(values[field.ID], field.Type)
		if err != nil {
			return nil, fmt.Errorf("file %s, partition field %s: %w", f.FilePath(), field.Name, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// partitionValue is a partition value as the spec's PrimitiveTypeValue:
// dates, times, timestamps, decimals and UUIDs as strings, binary as hex.
func partitionValue(v any, typ iceberg.Type) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool, int64, float32, float64, string:
		return x, nil
	case int32:
		if _, ok := typ.(iceberg.DateType); ok {
			return iceberg.DateLiteral(x).String(), nil
		}
		return x, nil
	case iceberg.Date:
		return iceberg.DateLiteral(x).String(), nil
	case iceberg.Time:
		return iceberg.TimeLiteral(x).String(), nil
	case iceberg.Timestamp:
		return timestampText(time.UnixMicro(int64(x)), "2006-01-02T15:04:05.000000", typ), nil
	case iceberg.TimestampNano:
		return timestampText(time.Unix(0, int64(x)), "2006-01-02T15:04:05.000000000", typ), nil
	case iceberg.Decimal:
		return iceberg.DecimalLiteral(x).String(), nil
	case uuid.UUID:
		return x.String(), nil
	case [16]byte:
		return uuid.UUID(x).String(), nil
	case []byte:
		return upperHex(x), nil
	}
	return nil, fmt.Errorf("unsupported partition value of Go type %T", v)
}

func timestampText(t time.Time, layout string, typ iceberg.Type) string {
	s := t.UTC().Format(layout)
	switch typ.(type) {
	case iceberg.TimestampTzType, iceberg.TimestampTzNsType:
		s += "+00:00"
	}
	return s
}

func encodeCounts(m map[int]int64, keep map[int]bool) *countMap {
	keys := keptKeys(m, keep)
	if len(keys) == 0 {
		return nil
	}
	out := &countMap{Keys: keys, Values: make([]int64, len(keys))}
	for i, k := range keys {
		out.Values[i] = m[k]
	}
	return out
}

func encodeValues(m map[int][]byte, keep map[int]bool) *valueMap {
	keys := keptKeys(m, keep)
	if len(keys) == 0 {
		return nil
	}
	out := &valueMap{Keys: keys, Values: make([]string, len(keys))}
	for i, k := range keys {
		out.Values[i] = upperHex(m[k])
	}
	return out
}

func keptKeys[V any](m map[int]V, keep map[int]bool) []int {
	var keys []int
	for k := range maps.Keys(m) {
		if keep[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func upperHex(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }
