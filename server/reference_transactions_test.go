package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
)

// Create and replace transactions, as a REST client runs them: a create
// asks the catalog for the table it would make (stage-create), builds its
// snapshots on that, and commits everything at once with assert-create; a
// replace loads the table, builds the new definition on it and commits it
// with the table's uuid asserted. Nothing is visible before the commit.

// tableDef is a table's definition in a create or replace request, in the
// client's own column ids.
type tableDef struct {
	schema   *iceberg.Schema
	spec     *iceberg.PartitionSpec
	order    *table.SortOrder
	location string
	props    iceberg.Properties
}

// stageCreate asks the catalog for the metadata of the table def would
// create, storing nothing.
func (e *refEnv) stageCreate(t *testing.T, id table.Identifier, def tableDef) table.Metadata {
	t.Helper()
	body := map[string]any{"name": id[len(id)-1], "schema": def.schema, "stage-create": true}
	if def.spec != nil {
		body["partition-spec"] = def.spec
	}
	if def.order != nil {
		body["write-order"] = def.order
	}
	if def.location != "" {
		body["location"] = def.location
	}
	if def.props != nil {
		body["properties"] = def.props
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(e.url+"/v1/namespaces/"+nsPath(id[:len(id)-1])+"/tables", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stage-create %v: %d %s", id, resp.StatusCode, raw)
	}
	var res struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	md, err := table.ParseMetadataBytes(res.Metadata)
	if err != nil {
		t.Fatalf("staged metadata: %v", err)
	}
	return md
}

// createUpdates are the updates that make md, the staged table, real.
func createUpdates(md table.Metadata) []table.Update {
	spec, order := md.PartitionSpec(), md.SortOrder()
	ups := []table.Update{
		table.NewAssignUUIDUpdate(md.TableUUID()),
		table.NewUpgradeFormatVersionUpdate(md.Version()),
		table.NewAddSchemaUpdate(md.CurrentSchema()), table.NewSetCurrentSchemaUpdate(-1),
		table.NewAddPartitionSpecUpdate(&spec, true), table.NewSetDefaultSpecUpdate(-1),
		table.NewAddSortOrderUpdate(&order), table.NewSetDefaultSortOrderUpdate(-1),
		table.NewSetLocationUpdate(md.Location()),
	}
	if len(md.Properties()) > 0 {
		ups = append(ups, table.NewSetPropertiesUpdate(md.Properties()))
	}
	return ups
}

// createTxn commits a create transaction of def whose body, if files are
// given, appends them; it returns the error of the commit.
func (e *refEnv) createTxn(t *testing.T, id table.Identifier, def tableDef, files ...fileRef) error {
	t.Helper()
	staged := e.stageCreate(t, id, def)
	ups := createUpdates(staged)
	if len(files) > 0 {
		_, more := capture(t, id, staged, appendChange(t, staged, files...))
		ups = append(ups, more...)
	}
	_, _, err := e.cat.CommitTable(context.Background(), id, []table.Requirement{table.AssertCreate()}, ups)
	return err
}

// replaceCommit returns the commit that replaces base's definition with def,
// and the metadata it leads to, for the transaction's snapshots to be built
// on. Columns keep their ids by name; new ones, and new partition fields,
// take ids after the last assigned ones; a schema, spec or order equal to an
// existing one is reused. Requirements: the table's uuid, and the last
// assigned ids that a new schema or spec consumed.
func replaceCommit(t *testing.T, base table.Metadata, def tableDef) ([]table.Requirement, []table.Update, table.Metadata) {
	t.Helper()
	reqs := []table.Requirement{table.AssertTableUUID(base.TableUUID())}
	var ups []table.Update
	if v, err := strconv.Atoi(def.props["format-version"]); err == nil && v > base.Version() {
		ups = append(ups, table.NewUpgradeFormatVersionUpdate(v))
	}
	if base.CurrentSnapshot() != nil {
		ups = append(ups, table.NewRemoveSnapshotRefUpdate(table.MainBranch))
	}

	// Schema: ids by name from the current schema, else fresh.
	ids := map[int]int{}
	next := base.LastColumnID()
	var fields []iceberg.NestedField
	for _, f := range def.schema.Fields() {
		if old, ok := base.CurrentSchema().FindFieldByName(f.Name); ok {
			ids[f.ID] = old.ID
		} else {
			next++
			ids[f.ID] = next
		}
		f.ID = ids[f.ID]
		fields = append(fields, f)
	}
	schemaID := -1
	for _, s := range base.Schemas() {
		schemaID = max(schemaID, s.ID)
	}
	fresh := iceberg.NewSchema(schemaID+1, fields...)
	if i := slices.IndexFunc(base.Schemas(), func(s *iceberg.Schema) bool { return sameColumns(s, fresh) }); i >= 0 {
		ups = append(ups, table.NewSetCurrentSchemaUpdate(base.Schemas()[i].ID))
	} else {
		reqs = append(reqs, table.AssertLastAssignedFieldID(base.LastColumnID()))
		ups = append(ups, table.NewAddSchemaUpdate(fresh), table.NewSetCurrentSchemaUpdate(-1))
	}

	// Spec: partition field ids reused for the same source and transform.
	lastPart := lastPartOf(base)
	var pfs []iceberg.PartitionField
	if def.spec != nil {
		for _, f := range def.spec.Fields() {
			f.SourceIDs = []int{ids[f.SourceID()]}
			f.FieldID = 0
			for _, s := range base.PartitionSpecs() {
				for _, old := range s.Fields() {
					if old.SourceID() == f.SourceID() && old.Transform.Equals(f.Transform) {
						f.FieldID = old.FieldID
					}
				}
			}
			if f.FieldID == 0 {
				lastPart++
				f.FieldID = lastPart
			}
			pfs = append(pfs, f)
		}
	}
	specID := -1
	for _, s := range base.PartitionSpecs() {
		specID = max(specID, s.ID())
	}
	freshSpec := iceberg.NewPartitionSpecID(specID+1, pfs...)
	if i := slices.IndexFunc(base.PartitionSpecs(), func(s iceberg.PartitionSpec) bool { return sameSpecFields(s, freshSpec) }); i >= 0 {
		ups = append(ups, table.NewSetDefaultSpecUpdate(base.PartitionSpecs()[i].ID()))
	} else {
		reqs = append(reqs, table.AssertLastAssignedPartitionID(lastPartOf(base)))
		ups = append(ups, table.NewAddPartitionSpecUpdate(&freshSpec, false), table.NewSetDefaultSpecUpdate(-1))
	}

	// Sort order.
	var sfs []table.SortField
	if def.order != nil {
		for _, f := range def.order.Fields() {
			f.SourceIDs = []int{ids[f.SourceID()]}
			sfs = append(sfs, f)
		}
	}
	orderID := 0
	for _, o := range base.SortOrders() {
		orderID = max(orderID, o.OrderID())
	}
	freshOrder, err := table.NewSortOrder(orderID+1, sfs)
	if len(sfs) == 0 {
		freshOrder, err = table.UnsortedSortOrder, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(base.SortOrders(), func(o table.SortOrder) bool { return sameOrderFields(o, freshOrder) }); i >= 0 {
		ups = append(ups, table.NewSetDefaultSortOrderUpdate(base.SortOrders()[i].OrderID()))
	} else {
		ups = append(ups, table.NewAddSortOrderUpdate(&freshOrder), table.NewSetDefaultSortOrderUpdate(-1))
	}

	loc := def.location
	if loc == "" {
		loc = base.Location()
	}
	ups = append(ups, table.NewSetLocationUpdate(loc))
	props := maps.Clone(def.props)
	delete(props, "format-version")
	if len(props) > 0 {
		ups = append(ups, table.NewSetPropertiesUpdate(props))
	}
	replaced, err := table.UpdateTableMetadata(base, ups, "")
	if err != nil {
		t.Fatalf("replace %s locally: %v", describe(def.schema), err)
	}
	return reqs, ups, replaced
}

func lastPartOf(md table.Metadata) int {
	if p := md.LastPartitionSpecID(); p != nil {
		return *p
	}
	return iceberg.PartitionDataIDStart - 1
}

// replaceTxn prepares a replace transaction of the table id, as loaded now,
// that appends files; the returned func commits it.
func (e *refEnv) replaceTxn(t *testing.T, id table.Identifier, def tableDef, files ...fileRef) func() error {
	t.Helper()
	base := load(t, e.cat, id).Metadata()
	reqs, ups, replaced := replaceCommit(t, base, def)
	if len(files) > 0 {
		_, more := capture(t, id, replaced, appendChange(t, replaced, files...))
		ups = append(ups, more...)
	}
	return func() error {
		_, _, err := e.cat.CommitTable(context.Background(), id, reqs, ups)
		return err
	}
}

var refReplaceSchema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 2, Name: "id", Type: iceberg.PrimitiveTypes.Int32, Required: true, Doc: "unique ID 🤪"},
	iceberg.NestedField{ID: 3, Name: "data", Type: iceberg.PrimitiveTypes.String, Required: true},
)

func TestReferenceTransactions(t *testing.T) {
	e := newRefEnv(t)
	ctx := context.Background()
	cat := e.cat
	props := iceberg.Properties{"user": "someone", "created-at": "2022-02-25T00:38:19"}
	spec := bucketSpec(3)
	order := bucketOrder(t, 3, table.SortASC)
	complete := func(t *testing.T) tableDef {
		return tableDef{schema: refSchema, spec: &spec, order: &order, location: "file://" + t.TempDir() + "/tbl", props: props}
	}

	t.Run("CreateTransaction", func(t *testing.T) {
		id := ident(e.ns(t), "tbl")
		staged := e.stageCreate(t, id, tableDef{schema: refSchema})
		if exists(t, cat, id) {
			t.Fatal("a stage-create made the table")
		}
		_, more := capture(t, id, staged, appendChange(t, staged, fileA))
		if exists(t, cat, id) {
			t.Fatal("writing the transaction's snapshot made the table")
		}
		mustCommit(t, cat, id, []table.Requirement{table.AssertCreate()}, append(createUpdates(staged), more...))
		tbl := load(t, cat, id)
		wantFiles(t, tbl, fileA)
		if n := previousFiles(tbl.Metadata()); n != 0 {
			t.Fatalf("%d previous metadata files, want 0: the create is the first commit", n)
		}
	})

	t.Run("CompleteCreateTransaction", func(t *testing.T) {
		id := ident(e.ns(t), "tbl")
		def := complete(t)
		staged := e.stageCreate(t, id, def)
		_, more := capture(t, id, staged, appendChange(t, staged, fileA))
		mustCommit(t, cat, id, []table.Requirement{table.AssertCreate()}, append(createUpdates(staged), more...))
		tbl := load(t, cat, id)
		wantColumns(t, "schema", tbl.Schema(), refFreshSchema)
		if !sameSpecFields(tbl.Spec(), bucketSpec(1)) || !sameOrderFields(tbl.SortOrder(), bucketOrder(t, 1, table.SortASC)) || tbl.Location() != def.location {
			t.Fatalf("spec %v order %v location %s", tbl.Spec(), tbl.SortOrder(), tbl.Location())
		}
		wantProps(t, tbl.Properties(), props, nil)
		wantFiles(t, tbl, fileA)
		if n := previousFiles(tbl.Metadata()); n != 0 {
			t.Fatalf("%d previous metadata files, want 0", n)
		}
	})

	t.Run("CompleteCreateTransactionMultipleSchemas", func(t *testing.T) {
		id := ident(e.ns(t), "tbl")
		staged := e.stageCreate(t, id, complete(t))
		var newSpec iceberg.PartitionSpec
		_, more := capture(t, id, staged, func(txn *table.Transaction) error {
			if err := txn.AddDataFiles(ctx, dataFiles(t, staged, fileA), nil); err != nil {
				return err
			}
			if err := addColumn("new_col", iceberg.PrimitiveTypes.Int64)(txn.UpdateSchema(true, false)).Commit(); err != nil {
				return err
			}
			if err := txn.UpdateSpec(true).AddIdentity("new_col").Commit(); err != nil {
				return err
			}
			byNew, err := table.NewSortOrder(2, []table.SortField{{SourceIDs: []int{3}, Transform: iceberg.IdentityTransform{}, Direction: table.SortASC, NullOrder: table.NullsFirst}})
			if err != nil {
				return err
			}
			if err := txn.ReplaceSortOrder(byNew); err != nil {
				return err
			}
			st, err := txn.StagedTable()
			if err != nil {
				return err
			}
			newSpec = st.Spec()
			b, err := iceberg.NewDataFileBuilder(newSpec, iceberg.EntryContentData, staged.Location()+"/data/"+fileB.name,
				iceberg.ParquetFile, map[int]any{1000: int32(0), 1001: int64(0)}, nil, nil, 2, 10)
			if err != nil {
				return err
			}
			return txn.AddDataFiles(ctx, []iceberg.DataFile{b.Build()}, nil)
		})
		mustCommit(t, cat, id, []table.Requirement{table.AssertCreate()}, append(createUpdates(staged), more...))
		tbl := load(t, cat, id)
		md := tbl.Metadata()
		if md.CurrentSchema().ID != 1 || len(md.CurrentSchema().Fields()) != 3 || md.DefaultPartitionSpec() != 1 ||
			!sameSpecFields(tbl.Spec(), newSpec) || md.DefaultSortOrder() != 2 {
			t.Fatalf("schema %d %v, spec %d %v, order %d", md.CurrentSchema().ID, md.CurrentSchema(), md.DefaultPartitionSpec(), tbl.Spec(), md.DefaultSortOrder())
		}
		wantFiles(t, tbl, fileA, fileB)
		tasks, err := tbl.Scan().PlanFiles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			want := map[bool]int32{true: 0, false: 1}[slices.Contains([]string{fileA.name}, baseName(task.File.FilePath()))]
			if task.File.SpecID() != want {
				t.Fatalf("%s written with spec %d, want %d", task.File.FilePath(), task.File.SpecID(), want)
			}
		}
		if n := previousFiles(md); n != 0 {
			t.Fatalf("%d previous metadata files, want 0", n)
		}
	})

	t.Run("CompleteCreateTransactionV2", func(t *testing.T) {
		id := ident(e.ns(t), "tbl")
		def := complete(t)
		def.props = maps.Clone(props)
		def.props["format-version"] = "2"
		staged := e.stageCreate(t, id, def)
		_, more := capture(t, id, staged, appendChange(t, staged, fileA))
		mustCommit(t, cat, id, []table.Requirement{table.AssertCreate()}, append(createUpdates(staged), more...))
		tbl := load(t, cat, id)
		if tbl.Metadata().Version() != 2 || tbl.CurrentSnapshot().SequenceNumber != 1 {
			t.Fatalf("version %d, first sequence number %d; want 2 and 1", tbl.Metadata().Version(), tbl.CurrentSnapshot().SequenceNumber)
		}
		if _, ok := tbl.Properties()["format-version"]; ok {
			t.Fatal("format-version kept as a property")
		}
		wantProps(t, tbl.Properties(), props, nil)
		wantFiles(t, tbl, fileA)
	})

	t.Run("CreateTransactionFormatVersions", func(t *testing.T) {
		ns := e.ns(t)
		for _, v := range []int{1, 2, 3} {
			id := ident(ns, "v"+strconv.Itoa(v))
			def := tableDef{schema: refSchema, props: iceberg.Properties{"format-version": strconv.Itoa(v)}}
			if err := e.createTxn(t, id, def); err != nil {
				t.Fatalf("create v%d: %v", v, err)
			}
			if got := load(t, cat, id).Metadata().Version(); got != v {
				t.Fatalf("format version %d, want %d", got, v)
			}
		}
	})

	// Another client creates the table between the stage and the commit:
	// the commit is refused and the other table stays as it was.
	t.Run("ConcurrentCreateTransaction", func(t *testing.T) {
		id := ident(e.ns(t), "tbl")
		staged := e.stageCreate(t, id, tableDef{schema: refSchema})
		_, more := capture(t, id, staged, appendChange(t, staged, fileA))
		if _, err := cat.CreateTable(ctx, id, refOtherSchema); err != nil {
			t.Fatal(err)
		}
		_, _, err := cat.CommitTable(ctx, id, []table.Requirement{table.AssertCreate()}, append(createUpdates(staged), more...))
		wantErr(t, "commit the create of a table created meanwhile", err, rest.ErrCommitFailed)
		tbl := load(t, cat, id)
		wantColumns(t, "the concurrent table", tbl.Schema(), refOtherSchema)
		wantFiles(t, tbl)
	})

	t.Run("CreateTransactionInMissingNamespace", func(t *testing.T) {
		ns := e.ns(t)
		staged := e.stageCreate(t, ident(ns, "tbl"), tableDef{schema: refSchema})
		id := table.Identifier{"ref_non_existing", "tbl"}
		code, typ := e.errorOf(t, "POST", "/v1/namespaces/ref_non_existing/tables/tbl", map[string]any{
			"requirements": []table.Requirement{table.AssertCreate()}, "updates": createUpdates(staged)})
		if code != 404 || typ != "NoSuchNamespaceException" {
			t.Fatalf("create transaction of %v: %d %s, want 404 NoSuchNamespaceException", id, code, typ)
		}
	})

	t.Run("ReplaceTransaction", func(t *testing.T) {
		ns := e.ns(t)
		for _, completeDef := range []bool{false, true} {
			id := ident(ns, map[bool]string{false: "basic", true: "complete"}[completeDef])
			orig, err := cat.CreateTable(ctx, id, refOtherSchema)
			if err != nil {
				t.Fatal(err)
			}
			def := tableDef{schema: refSchema}
			if completeDef {
				def = complete(t)
			}
			commit := e.replaceTxn(t, id, def, fileA)
			// Nothing changes before the commit.
			tbl := load(t, cat, id)
			wantColumns(t, "before the commit", tbl.Schema(), refOtherSchema)
			wantFiles(t, tbl)
			if tbl.Properties()["created-at"] != "" || !tbl.Spec().IsUnpartitioned() || !tbl.SortOrder().IsUnsorted() {
				t.Fatal("the table changed before the replace was committed")
			}
			if err := commit(); err != nil {
				t.Fatalf("replace: %v", err)
			}
			tbl = load(t, cat, id)
			wantColumns(t, "replaced", tbl.Schema(), refReplaceSchema)
			if tbl.Metadata().TableUUID() != orig.Metadata().TableUUID() {
				t.Fatal("a replace changed the table's uuid")
			}
			wantFiles(t, tbl, fileA)
			if n := previousFiles(tbl.Metadata()); n != 1 {
				t.Fatalf("%d previous metadata files, want 1", n)
			}
			if completeDef {
				wantSpec := iceberg.NewPartitionSpecID(1, iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "id_bucket", Transform: iceberg.BucketTransform{NumBuckets: 16}})
				if tbl.Metadata().DefaultPartitionSpec() != 1 || !sameSpecFields(tbl.Spec(), wantSpec) ||
					tbl.SortOrder().OrderID() != 1 || !sameOrderFields(tbl.SortOrder(), bucketOrder(t, 2, table.SortASC)) ||
					tbl.Location() != def.location {
					t.Fatalf("replaced: spec %v, order %v, location %s", tbl.Spec(), tbl.SortOrder(), tbl.Location())
				}
				wantProps(t, tbl.Properties(), props, nil)
			}
		}
	})

	t.Run("ReplaceRequiresTableExists", func(t *testing.T) {
		// A replace starts by loading the table...
		id := ident(e.ns(t), "tbl")
		_, err := cat.LoadTable(ctx, id)
		wantErr(t, "load the table to replace", err, catalog.ErrNoSuchTable)
		// ...and a replace commit never creates one.
		_, _, err = cat.CommitTable(ctx, id, []table.Requirement{}, []table.Update{table.NewSetPropertiesUpdate(iceberg.Properties{"a": "b"})})
		wantErr(t, "commit to a missing table", err, catalog.ErrNoSuchTable)
	})

	t.Run("ReplaceKeepsSnapshotLog", func(t *testing.T) {
		id := ident(e.ns(t), "tbl")
		tbl, err := cat.CreateTable(ctx, id, refSchema)
		if err != nil {
			t.Fatal(err)
		}
		tbl = appendFiles(t, tbl, fileA)
		before := slices.Collect(tbl.Metadata().SnapshotLogs())
		if len(before) != 1 {
			t.Fatalf("snapshot log %v, want one entry", before)
		}
		if err := e.replaceTxn(t, id, tableDef{schema: refSchema}, fileA)(); err != nil {
			t.Fatal(err)
		}
		after := slices.Collect(load(t, cat, id).Metadata().SnapshotLogs())
		if len(after) != 2 || after[0] != before[0] || after[1] == before[0] {
			t.Fatalf("snapshot log after the replace %v, want %v and a new entry", after, before)
		}
	})

	// Two replace transactions prepared on the same table; the one
	// prepared second commits first. The other one then commits too, on
	// top of it, unless the ids its new schema or spec took were taken
	// meanwhile.
	type def struct {
		schema *iceberg.Schema
		spec   *iceberg.PartitionSpec
		order  *table.SortOrder
	}
	descOrder := bucketOrder(t, 3, table.SortDESC)
	for _, c := range []struct {
		name           string
		initial        *iceberg.Schema
		second, first  def
		conflict       bool
		check1, check2 func(t *testing.T, tbl *table.Table)
	}{
		{name: "Same", initial: refSchema, second: def{schema: refSchema}, first: def{schema: refSchema},
			check1: unpartitionedUnsorted, check2: unpartitionedUnsorted},
		{name: "Schema", initial: refOtherSchema, second: def{schema: refOtherSchema}, first: def{schema: refSchema},
			check1: schemaIs(refReplaceSchema), check2: schemaIs(iceberg.NewSchema(0, refOtherSchema.Fields()...))},
		{name: "Schema2", initial: refOtherSchema, second: def{schema: refSchema}, first: def{schema: refOtherSchema},
			check1: schemaIs(refOtherSchema), check2: schemaIs(refReplaceSchema)},
		{name: "SchemaConflict", initial: refOtherSchema, second: def{schema: refSchema}, first: def{schema: refSchema},
			check1: schemaIs(refReplaceSchema), conflict: true},
		{name: "PartitionSpec", initial: refSchema, second: def{schema: refSchema}, first: def{schema: refSchema, spec: &spec},
			check1: specIs(bucketSpec(1)), check2: unpartitionedUnsorted},
		{name: "PartitionSpec2", initial: refSchema, second: def{schema: refSchema, spec: &spec}, first: def{schema: refSchema},
			check1: unpartitionedUnsorted, check2: specIs(bucketSpec(1))},
		{name: "PartitionSpecConflict", initial: refSchema, second: def{schema: refSchema, spec: &spec}, first: def{schema: refSchema, spec: &spec},
			check1: specIs(bucketSpec(1)), conflict: true},
		{name: "SortOrder", initial: refSchema, second: def{schema: refSchema}, first: def{schema: refSchema, order: &order},
			check1: orderIs(t, bucketOrder(t, 1, table.SortASC)), check2: unpartitionedUnsorted},
		{name: "SortOrderConflict", initial: refSchema, second: def{schema: refSchema, order: &order}, first: def{schema: refSchema, order: &descOrder},
			check1: orderIs(t, bucketOrder(t, 1, table.SortDESC)), check2: orderIs(t, bucketOrder(t, 1, table.SortASC))},
	} {
		t.Run("ConcurrentReplace"+c.name, func(t *testing.T) {
			id := ident(e.ns(t), "tbl")
			if err := e.createTxn(t, id, tableDef{schema: c.initial}, fileA); err != nil {
				t.Fatal(err)
			}
			orig := load(t, cat, id)
			wantFiles(t, orig, fileA)
			second := e.replaceTxn(t, id, tableDef{schema: c.second.schema, spec: c.second.spec, order: c.second.order}, fileC)
			first := e.replaceTxn(t, id, tableDef{schema: c.first.schema, spec: c.first.spec, order: c.first.order}, fileB)
			if err := first(); err != nil {
				t.Fatalf("first replace: %v", err)
			}
			tbl := load(t, cat, id)
			c.check1(t, tbl)
			wantFiles(t, tbl, fileB)
			err := second()
			if c.conflict {
				wantErr(t, "second replace", err, rest.ErrCommitFailed)
				return
			}
			if err != nil {
				t.Fatalf("second replace: %v", err)
			}
			tbl = load(t, cat, id)
			c.check2(t, tbl)
			wantFiles(t, tbl, fileC)
			if tbl.Metadata().TableUUID() != orig.Metadata().TableUUID() {
				t.Fatal("a replace changed the uuid")
			}
		})
	}
}

func baseName(p string) string { return p[bytes.LastIndexByte([]byte(p), '/')+1:] }

func unpartitionedUnsorted(t *testing.T, tbl *table.Table) {
	t.Helper()
	if !tbl.Spec().IsUnpartitioned() || !tbl.SortOrder().IsUnsorted() {
		t.Fatalf("spec %v order %v, want unpartitioned and unsorted", tbl.Spec(), tbl.SortOrder())
	}
}

func schemaIs(want *iceberg.Schema) func(*testing.T, *table.Table) {
	return func(t *testing.T, tbl *table.Table) { t.Helper(); wantColumns(t, "schema", tbl.Schema(), want) }
}

func specIs(want iceberg.PartitionSpec) func(*testing.T, *table.Table) {
	return func(t *testing.T, tbl *table.Table) {
		t.Helper()
		if !sameSpecFields(tbl.Spec(), want) {
			t.Fatalf("spec %v, want %v", tbl.Spec(), want)
		}
	}
}

func orderIs(_ *testing.T, want table.SortOrder) func(*testing.T, *table.Table) {
	return func(t *testing.T, tbl *table.Table) {
		t.Helper()
		if !sameOrderFields(tbl.SortOrder(), want) {
			t.Fatalf("order %v, want %v", tbl.SortOrder(), want)
		}
	}
}
