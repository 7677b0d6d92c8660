package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// resolveScan checks a request against the table's metadata and returns
// the scan it asks for. Every error is a 400: the request cannot be planned.
func resolveScan(md table.Metadata, req ScanRequest) (scanSpec, error) {
	spec := scanSpec{SnapshotID: req.SnapshotID, StartSnapshotID: req.StartSnapshotID, EndSnapshotID: req.EndSnapshotID,
		Select: req.Select, CaseSensitive: true, StatsFields: req.StatsFields}
	if req.CaseSensitive != nil {
		spec.CaseSensitive = *req.CaseSensitive
	}
	if req.UseSnapshotSchema != nil {
		spec.UseSnapshotSchema = *req.UseSnapshotSchema
	}
	incremental := req.StartSnapshotID != nil || req.EndSnapshotID != nil
	switch {
	case incremental && req.SnapshotID != nil:
		return scanSpec{}, ice.Errorf(ice.EINVALID, "invalid scan: snapshot-id (point in time) cannot be combined with start-snapshot-id or end-snapshot-id (incremental)")
	case req.StartSnapshotID != nil && req.EndSnapshotID == nil:
		return scanSpec{}, ice.Errorf(ice.EINVALID, "invalid scan: end-snapshot-id is required with start-snapshot-id")
	case req.StartSnapshotID == nil && req.EndSnapshotID != nil:
		return scanSpec{}, ice.Errorf(ice.EINVALID, "invalid scan: start-snapshot-id is required with end-snapshot-id")
	}
	for _, sid := range []*int64{req.SnapshotID, req.StartSnapshotID, req.EndSnapshotID} {
		if sid != nil && md.SnapshotByID(*sid) == nil {
			return scanSpec{}, ice.Errorf(ice.EINVALID, "invalid scan: snapshot %d does not exist", *sid)
		}
	}
	if f := bytes.TrimSpace(req.Filter); len(f) > 0 && !bytes.Equal(f, []byte("null")) {
		spec.Filter = f
	}
	schema := scanSchema(md, spec)
	if _, err := parseFilter(schema, spec); err != nil {
		return scanSpec{}, err
	}
	for _, names := range [][]string{spec.Select, spec.StatsFields} {
		for _, name := range names {
			if _, ok := findField(schema, name, spec.CaseSensitive); !ok {
				return scanSpec{}, ice.Errorf(ice.EINVALID, "invalid scan: field %q is not in the table's schema", name)
			}
		}
	}
	return spec, nil
}

func findField(schema *iceberg.Schema, name string, caseSensitive bool) (iceberg.NestedField, bool) {
	if caseSensitive {
		return schema.FindFieldByName(name)
	}
	return schema.FindFieldByNameCaseInsensitive(name)
}

// scanSchema is the schema that filter and field names refer to: the
// snapshot's own when the client asks for it, else the table's current one.
func scanSchema(md table.Metadata, spec scanSpec) *iceberg.Schema {
	if spec.UseSnapshotSchema && spec.SnapshotID != nil {
		if snap := md.SnapshotByID(*spec.SnapshotID); snap != nil && snap.SchemaID != nil {
			for _, s := range md.Schemas() {
				if s.ID == *snap.SchemaID {
					return s
				}
			}
		}
	}
	return md.CurrentSchema()
}

// checkFilterSize refuses, before any parsing, a filter nested deeper than
// maxDepth or made of more than maxValues JSON tokens (each object, array,
// key and scalar counts one). iceberg-go's parser recurses once per
// level and builds a set per "in" list: a 9,000-deep "not" chain or a
// million-value list would hold a replica for minutes. A bound of 0 is
// no bound. The walk is iterative and stops at the first excess.
func checkFilterSize(raw json.RawMessage, maxDepth, maxValues int) error {
	if len(raw) == 0 || (maxDepth <= 0 && maxValues <= 0) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	depth, values := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return ice.Invalid("invalid scan filter: %w", err)
		}
		switch tok {
		case json.Delim('}'), json.Delim(']'):
			depth--
			continue
		case json.Delim('{'), json.Delim('['):
			depth++
			if maxDepth > 0 && depth > maxDepth {
				return ice.Errorf(ice.EINVALID, "invalid scan filter: nested deeper than %d levels (limits.maxScanFilterDepth)", maxDepth)
			}
		}
		values++
		if maxValues > 0 && values > maxValues {
			return ice.Errorf(ice.EINVALID, "invalid scan filter: more than %d JSON values and keys (limits.maxScanFilterValues)", maxValues)
		}
	}
}

// parseFilter turns the spec's JSON expression into iceberg-go's, with
// iceberg-go's own parser; nil means no filter.
func parseFilter(schema *iceberg.Schema, spec scanSpec) (iceberg.BooleanExpression, error) {
	if len(spec.Filter) == 0 {
		return nil, nil
	}
	// The deprecated object spelling of the constants, which the parser
	// does not take.
	var constant struct {
		Type string `json:"type"`
	}
	if spec.Filter[0] == '{' && json.Unmarshal(spec.Filter, &constant) == nil {
		switch constant.Type {
		case "true":
			return iceberg.AlwaysTrue{}, nil
		case "false":
			return iceberg.AlwaysFalse{}, nil
		}
	}
	// The parser binds names case-sensitively to type the literals; a
	// case-insensitive scan gets untyped literals, which binding converts.
	parseSchema := schema
	if !spec.CaseSensitive {
		parseSchema = nil
	}
	expr, err := iceberg.ParseExpr(spec.Filter, parseSchema)
	if err != nil {
		return nil, ice.Invalid("invalid scan filter: %w", err)
	}
	if _, err := iceberg.BindExpr(schema, expr, spec.CaseSensitive); err != nil {
		return nil, ice.Invalid("invalid scan filter: %w", err)
	}
	return expr, nil
}

// scanOf builds the iceberg-go scan that spec describes and returns its
// planning; fsF nil is enough to check that the scan can be built.
func scanOf(id ice.TableIdent, md *warehouse.Metadata, spec scanSpec, fsF table.FSysF) (func(context.Context) ([]table.FileScanTask, error), error) {
	filter, err := parseFilter(scanSchema(md.Parsed, spec), spec)
	if err != nil {
		return nil, err
	}
	opts := []table.ScanOption{table.WithCaseSensitive(spec.CaseSensitive)}
	if filter != nil {
		opts = append(opts, table.WithRowFilter(filter))
	}
	if len(spec.Select) > 0 {
		opts = append(opts, table.WithSelectedFields(spec.Select...))
	}
	ident := append(append(table.Identifier{}, id.Namespace...), id.Name)
	tbl := table.New(ident, md.Parsed, md.Location, fsF, nil)
	if spec.StartSnapshotID != nil {
		inc := tbl.NewIncrementalAppendScan(opts...).FromSnapshotExclusive(*spec.StartSnapshotID).ToSnapshot(*spec.EndSnapshotID)
		return planOrInvalid(inc.PlanFiles), nil
	}
	branch := branchAt(md.Parsed, spec)
	if spec.SnapshotID != nil && branch == "" {
		opts = append(opts, table.WithSnapshotID(*spec.SnapshotID))
	}
	scan := tbl.Scan(opts...)
	if branch != "" {
		// A branch keeps the table's current schema, as the client's own
		// scan of that branch does.
		if scan, err = scan.UseRef(branch); err != nil {
			return nil, ice.Invalid("invalid scan: %w", err)
		}
	}
	return planOrInvalid(func(ctx context.Context) ([]table.FileScanTask, error) {
		defer scan.Close()
		return scan.PlanFiles(ctx)
	}), nil
}

// branchAt names a branch at the requested snapshot when the client asked
// for the table's schema rather than the snapshot's (use-snapshot-schema
// false, how clients scan a branch); iceberg-go gives that meaning to a
// branch ref, while a bare snapshot id binds to the snapshot's schema.
func branchAt(md table.Metadata, spec scanSpec) string {
	if spec.SnapshotID == nil || spec.UseSnapshotSchema {
		return ""
	}
	var names []string
	for name, ref := range md.Refs() {
		if ref.SnapshotRefType == table.BranchRef && ref.SnapshotID == *spec.SnapshotID {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return slices.Min(names)
}

// planOrInvalid makes iceberg-go's refusals of a scan (an incremental range
// over a non-append snapshot, say) a 400 rather than a 500.
func planOrInvalid(plan func(context.Context) ([]table.FileScanTask, error)) func(context.Context) ([]table.FileScanTask, error) {
	return func(ctx context.Context) ([]table.FileScanTask, error) {
		tasks, err := plan(ctx)
		if err != nil && isInvalidScan(err) {
			return nil, ice.Invalid("invalid scan: %w", err)
		}
		return tasks, err
	}
}

func isInvalidScan(err error) bool {
	return errors.Is(err, iceberg.ErrInvalidArgument) || errors.Is(err, table.ErrInvalidOperation)
}

// cacheKey names a planning result: the metadata file and the scan inputs.
func cacheKey(location string, spec scanSpec) (string, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return "", fmt.Errorf("encode scan: %w", err)
	}
	return location + "\x00" + string(b), nil
}
