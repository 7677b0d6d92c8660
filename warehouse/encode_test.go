package warehouse

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

func TestEncodeMetadataMatchesJSONMarshal(t *testing.T) {
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})
	for _, v := range []string{"1", "2"} {
		md, err := table.NewMetadata(sc, iceberg.UnpartitionedSpec, table.UnsortedSortOrder, "s3://b/t",
			iceberg.Properties{"format-version": v, "k": "<&>"})
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(md)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeMetadata(md)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("format %s: encodeMetadata differs from json.Marshal\n got %s\nwant %s", v, got, want)
		}
		if _, err := table.ParseMetadataBytes(got); err != nil {
			t.Errorf("format %s: encoded metadata does not parse back: %v", v, err)
		}
	}
}
