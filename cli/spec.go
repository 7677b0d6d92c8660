package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// partitionArg is one element of --partition, as in the Java tool:
// [{"column":"ts","transform":"day","name":"ts_day"}]. The transform is
// identity, year, month, day, hour, bucket[N] or truncate[N]; identity is
// the default.
type partitionArg struct {
	Column    string `json:"column"`
	Transform string `json:"transform"`
	Name      string `json:"name"`
}

// sortArg is one element of --sort: [{"column":"id","desc":false,"nullFirst":false}].
type sortArg struct {
	Column    string `json:"column"`
	Desc      bool   `json:"desc"`
	NullFirst bool   `json:"nullFirst"`
}

func decodeStrict(flagName, text string, v any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return usagef("%s: %v", flagName, err)
	}
	return nil
}

// parsePartition builds a partition spec for sc from --partition JSON; an
// empty text means unpartitioned. Field ids are assigned from 1000, as the
// spec's writers do; the catalog may renumber them on create.
func parsePartition(text string, sc *iceberg.Schema) (*iceberg.PartitionSpec, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var args []partitionArg
	if err := decodeStrict("--partition", text, &args); err != nil {
		return nil, err
	}
	var fields []iceberg.PartitionField
	for i, a := range args {
		col, ok := sc.FindFieldByName(a.Column)
		if !ok {
			return nil, usagef("--partition: no column %q in the schema", a.Column)
		}
		tr := a.Transform
		if tr == "" {
			tr = "identity"
		}
		t, err := iceberg.ParseTransform(tr)
		if err != nil {
			return nil, usagef("--partition: column %q: %v", a.Column, err)
		}
		if !t.CanTransform(col.Type) {
			return nil, usagef("--partition: transform %s does not apply to column %q of type %s", t, a.Column, col.Type)
		}
		name := a.Name
		if name == "" {
			name = defaultPartitionName(a.Column, t)
		}
		fields = append(fields, iceberg.PartitionField{SourceIDs: []int{col.ID}, FieldID: 1000 + i, Name: name, Transform: t})
	}
	spec := iceberg.NewPartitionSpec(fields...)
	return &spec, nil
}

// defaultPartitionName follows the Iceberg convention: the column for
// identity, column_transform otherwise (ts_day, id_bucket_16).
func defaultPartitionName(col string, t iceberg.Transform) string {
	switch t := t.(type) {
	case iceberg.IdentityTransform:
		return col
	case iceberg.BucketTransform:
		return fmt.Sprintf("%s_bucket_%d", col, t.NumBuckets)
	case iceberg.TruncateTransform:
		return fmt.Sprintf("%s_trunc_%d", col, t.Width)
	default:
		return col + "_" + t.String()
	}
}

// parseSort builds a sort order for sc from --sort JSON; empty means unsorted.
func parseSort(text string, sc *iceberg.Schema) (*table.SortOrder, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var args []sortArg
	if err := decodeStrict("--sort", text, &args); err != nil {
		return nil, err
	}
	var fields []table.SortField
	for _, a := range args {
		col, ok := sc.FindFieldByName(a.Column)
		if !ok {
			return nil, usagef("--sort: no column %q in the schema", a.Column)
		}
		f := table.SortField{SourceIDs: []int{col.ID}, Transform: iceberg.IdentityTransform{}, Direction: table.SortASC, NullOrder: table.NullsLast}
		if a.Desc {
			f.Direction = table.SortDESC
		}
		if a.NullFirst {
			f.NullOrder = table.NullsFirst
		}
		fields = append(fields, f)
	}
	order, err := table.NewSortOrder(1, fields)
	if err != nil {
		return nil, usagef("--sort: %v", err)
	}
	return &order, nil
}
