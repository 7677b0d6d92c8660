package warehouse_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/warehouse"
)

// TestReadServableSendsBytesAndParsesOnDemand: a file read to be served
// comes back unparsed with its table location; reading it parsed later
// needs no second read (the file is gone by then) and gives the same bytes.
// A file that is not table metadata is refused either way.
func TestReadServableSendsBytesAndParsesOnDemand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	wh, err := warehouse.Open(ctx, warehouse.Config{Location: "file://" + dir})
	if err != nil {
		t.Fatal(err)
	}
	md, err := table.NewMetadata(iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64}),
		iceberg.UnpartitionedSpec, table.UnsortedSortOrder, "s3://b/db/t", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "00000-a.metadata.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	loc := "file://" + path
	served, err := wh.ReadServable(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	if _, parsed := wh.CachedParsed(loc); parsed || served.TableLocation != "s3://b/db/t" || string(served.Raw) != string(raw) {
		t.Fatalf("served: parsed=%v location=%q, bytes equal=%v", parsed, served.TableLocation, string(served.Raw) == string(raw))
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	full, err := wh.ReadMetadata(ctx, loc)
	if err != nil {
		t.Fatalf("parsing the cached bytes: %v", err)
	}
	if full.Parsed == nil || full.Parsed.Location() != "s3://b/db/t" || string(full.Raw) != string(raw) {
		t.Fatal("the parsed read differs from the served one")
	}
	if again, _ := wh.ReadServable(ctx, loc); again == nil {
		t.Error("a served read after parsing failed")
	} else if _, parsed := wh.CachedParsed(loc); !parsed {
		t.Error("a served read after parsing lost the model")
	}

	for name, body := range map[string]string{"not json": "{", "not metadata": `{"a":1}`, "an array": "[]"} {
		p := filepath.Join(dir, name+".metadata.json")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := wh.ReadServable(ctx, "file://"+p); err == nil {
			t.Errorf("%s was served as table metadata", name)
		}
	}
}
