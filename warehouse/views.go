package warehouse

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/apache/iceberg-go/view"

	ice "github.com/ice-rest-catalog/ice"
)

// ViewMetadata is one parsed view metadata file with the bytes it was parsed
// from. Raw is the uncompressed JSON, sent to clients as is.
type ViewMetadata struct {
	Location string
	Parsed   view.Metadata
	Raw      []byte
}

// View metadata files bypass the table metadata cache: they are small, a view
// is loaded once per query plan, and the cache holds table metadata only.

// ReadViewMetadata reads and parses the view metadata file at location.
func (w *Warehouse) ReadViewMetadata(ctx context.Context, location string) (*ViewMetadata, error) {
	raw, err := w.readMetadataFile(ctx, location)
	if err != nil {
		return nil, err
	}
	parsed, err := view.ParseMetadataBytes(raw)
	if err != nil {
		return nil, fmt.Errorf("parse view metadata %s: %w", location, err)
	}
	return &ViewMetadata{Location: location, Parsed: parsed, Raw: raw}, nil
}

// WriteViewMetadata writes md as a new, uncompressed view metadata file.
func (w *Warehouse) WriteViewMetadata(ctx context.Context, location string, md view.Metadata) (*ViewMetadata, error) {
	raw, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("encode view metadata: %w", err)
	}
	objs, key, err := w.resolve(ctx, location)
	if err != nil {
		return nil, err
	}
	if err := objs.write(ctx, key, raw); err != nil {
		return nil, ice.Unavailable("cannot write view metadata to storage", fmt.Errorf("write %s: %w", location, err))
	}
	return &ViewMetadata{Location: location, Parsed: md, Raw: raw}, nil
}
