package server_test

import (
	"context"
	"slices"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
)

// The commits below carry the requirements a REST client pairs with each
// update (the spec's TableRequirement descriptions; Iceberg's Java client
// sends exactly these). A commit prepared on a stale base must succeed when
// its requirements still hold on the current metadata (the server re-applies
// the updates there: "server-side retry") and fail with a 409 when they do
// not, leaving the concurrent change in place.

func schemaCommit(base table.Metadata, next *iceberg.Schema) ([]table.Requirement, []table.Update) {
	return []table.Requirement{
			table.AssertTableUUID(base.TableUUID()),
			table.AssertLastAssignedFieldID(base.LastColumnID()),
			table.AssertCurrentSchemaID(base.CurrentSchema().ID),
		},
		[]table.Update{table.NewAddSchemaUpdate(next), table.NewSetCurrentSchemaUpdate(-1)}
}

func specCommit(base table.Metadata, spec iceberg.PartitionSpec) ([]table.Requirement, []table.Update) {
	last := iceberg.PartitionDataIDStart - 1
	if p := base.LastPartitionSpecID(); p != nil {
		last = *p
	}
	return []table.Requirement{
			table.AssertTableUUID(base.TableUUID()),
			table.AssertLastAssignedPartitionID(last),
			table.AssertDefaultSpecID(base.DefaultPartitionSpec()),
		},
		[]table.Update{table.NewAddPartitionSpecUpdate(&spec, false), table.NewSetDefaultSpecUpdate(-1)}
}

func orderCommit(base table.Metadata, order table.SortOrder) ([]table.Requirement, []table.Update) {
	return []table.Requirement{
			table.AssertTableUUID(base.TableUUID()),
			table.AssertDefaultSortOrderID(base.DefaultSortOrder()),
		},
		[]table.Update{table.NewAddSortOrderUpdate(&order), table.NewSetDefaultSortOrderUpdate(-1)}
}

// evolveSchema returns tbl's schema after change, computed by iceberg-go.
func evolveSchema(t *testing.T, tbl *table.Table, change func(*table.UpdateSchema) *table.UpdateSchema) *iceberg.Schema {
	t.Helper()
	sc, err := change(tbl.NewTransaction().UpdateSchema(true, false)).Apply()
	if err != nil {
		t.Fatalf("evolve the schema of %v: %v", tbl.Identifier(), err)
	}
	return sc
}

func evolveSpec(t *testing.T, tbl *table.Table, change func(*table.UpdateSpec) *table.UpdateSpec) iceberg.PartitionSpec {
	t.Helper()
	u := change(tbl.NewTransaction().UpdateSpec(true))
	if _, _, err := u.BuildUpdates(); err != nil { // runs the queued changes
		t.Fatalf("evolve the spec of %v: %v", tbl.Identifier(), err)
	}
	spec, err := u.Apply()
	if err != nil {
		t.Fatalf("evolve the spec of %v: %v", tbl.Identifier(), err)
	}
	return spec
}

func addColumn(name string, typ iceberg.Type) func(*table.UpdateSchema) *table.UpdateSchema {
	return func(u *table.UpdateSchema) *table.UpdateSchema {
		return u.AddColumn([]string{name}, typ, "", false, nil)
	}
}

func bucketField(col string, name string) func(*table.UpdateSpec) *table.UpdateSpec {
	return func(u *table.UpdateSpec) *table.UpdateSpec {
		return u.AddField(col, iceberg.BucketTransform{NumBuckets: 16}, name)
	}
}

func specFields(spec iceberg.PartitionSpec) []iceberg.PartitionField {
	var out []iceberg.PartitionField
	for _, f := range spec.Fields() {
		out = append(out, f)
	}
	return out
}

func sameSpecFields(a, b iceberg.PartitionSpec) bool {
	fa, fb := specFields(a), specFields(b)
	return slices.EqualFunc(fa, fb, func(x, y iceberg.PartitionField) bool {
		return x.FieldID == y.FieldID && x.Name == y.Name && slices.Equal(x.SourceIDs, y.SourceIDs) && x.Transform.Equals(y.Transform)
	})
}

func orderFields(o table.SortOrder) []table.SortField {
	var out []table.SortField
	for _, f := range o.Fields() {
		out = append(out, f)
	}
	return out
}

func sameOrderFields(a, b table.SortOrder) bool {
	return slices.EqualFunc(orderFields(a), orderFields(b), func(x, y table.SortField) bool { return x.Equals(y) })
}

// TestReferenceEvolution: schema, partition spec and sort order evolution,
// with concurrent commits that do and do not conflict.
func TestReferenceEvolution(t *testing.T) {
	e := newRefEnv(t)
	ctx := context.Background()
	cat := e.cat
	create := func(t *testing.T, opts ...catalog.CreateTableOpt) (table.Identifier, *table.Table) {
		t.Helper()
		id := ident(e.ns(t), "t")
		tbl, err := cat.CreateTable(ctx, id, refSchema, opts...)
		if err != nil {
			t.Fatalf("create %v: %v", id, err)
		}
		return id, tbl
	}

	t.Run("Schema", func(t *testing.T) {
		id, tbl := create(t)
		next := evolveSchema(t, tbl, addColumn("new_col", iceberg.PrimitiveTypes.Int64))
		reqs, ups := schemaCommit(tbl.Metadata(), next)
		mustCommit(t, cat, id, reqs, ups)
		wantColumns(t, "after adding new_col", load(t, cat, id).Schema(), next)
	})

	t.Run("UUIDValidation", func(t *testing.T) {
		id, tbl := create(t)
		reqs, ups := schemaCommit(tbl.Metadata(), evolveSchema(t, tbl, addColumn("new_col", iceberg.PrimitiveTypes.Int64)))
		if err := cat.DropTable(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := cat.CreateTable(ctx, id, refOtherSchema); err != nil {
			t.Fatal(err)
		}
		_, _, err := cat.CommitTable(ctx, id, reqs, ups)
		wantErr(t, "commit a change of the dropped table to its successor", err, rest.ErrCommitFailed)
		wantColumns(t, "successor", load(t, cat, id).Schema(), refOtherSchema)
	})

	t.Run("SchemaServerSideRetry", func(t *testing.T) {
		id, tbl := create(t)
		next := evolveSchema(t, tbl, addColumn("new_col", iceberg.PrimitiveTypes.Int64))
		reqs, ups := schemaCommit(tbl.Metadata(), next)
		// A concurrent spec change: the schema requirements still hold.
		sreqs, sups := specCommit(tbl.Metadata(), evolveSpec(t, tbl, bucketField("id", "shard")))
		mustCommit(t, cat, id, sreqs, sups)
		mustCommit(t, cat, id, reqs, ups)
		loaded := load(t, cat, id)
		wantColumns(t, "after both", loaded.Schema(), next)
		if len(specFields(loaded.Spec())) != 1 {
			t.Fatalf("the concurrent spec change was lost: %v", loaded.Spec())
		}
	})

	t.Run("SchemaConflict", func(t *testing.T) {
		id, tbl := create(t)
		reqs, ups := schemaCommit(tbl.Metadata(), evolveSchema(t, tbl, addColumn("new_col", iceberg.PrimitiveTypes.Int64)))
		dropped := evolveSchema(t, tbl, func(u *table.UpdateSchema) *table.UpdateSchema { return u.DeleteColumn([]string{"data"}) })
		mustCommit(t, cat, id, []table.Requirement{table.AssertCurrentSchemaID(0)},
			[]table.Update{table.NewAddSchemaUpdate(dropped), table.NewSetCurrentSchemaUpdate(-1)})
		_, _, err := cat.CommitTable(ctx, id, reqs, ups)
		wantErr(t, "commit over a changed current schema", err, rest.ErrCommitFailed)
		wantColumns(t, "after the conflict", load(t, cat, id).Schema(), dropped)
	})

	t.Run("SchemaAssignmentConflict", func(t *testing.T) {
		id, tbl := create(t)
		reqs, ups := schemaCommit(tbl.Metadata(), evolveSchema(t, tbl, addColumn("new_col", iceberg.PrimitiveTypes.Int64)))
		other := evolveSchema(t, tbl, addColumn("another_col", iceberg.PrimitiveTypes.String))
		oreqs, oups := schemaCommit(tbl.Metadata(), other)
		mustCommit(t, cat, id, oreqs, oups)
		// Both assigned field id 3: the last assigned id moved under the first.
		_, _, err := cat.CommitTable(ctx, id, reqs, ups)
		wantErr(t, "commit over a changed last-assigned field id", err, rest.ErrCommitFailed)
		wantColumns(t, "after the conflict", load(t, cat, id).Schema(), other)
	})

	t.Run("SchemaThenRevert", func(t *testing.T) {
		_, tbl := create(t)
		var err error
		txn := tbl.NewTransaction()
		u := txn.UpdateSchema(true, false)
		for _, c := range []string{"col1", "col2", "col3"} {
			u = u.AddColumn([]string{c}, iceberg.PrimitiveTypes.String, "", false, nil)
		}
		if err := u.Commit(); err != nil {
			t.Fatal(err)
		}
		if tbl, err = txn.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		txn = tbl.NewTransaction()
		u = txn.UpdateSchema(true, false)
		for _, c := range []string{"col1", "col2", "col3"} {
			u = u.DeleteColumn([]string{c})
		}
		if err := u.Commit(); err != nil {
			t.Fatal(err)
		}
		if tbl, err = txn.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		wantColumns(t, "reverted", tbl.Schema(), refFreshSchema)
	})

	t.Run("Spec", func(t *testing.T) {
		id, tbl := create(t)
		spec := evolveSpec(t, tbl, bucketField("id", "shard"))
		reqs, ups := specCommit(tbl.Metadata(), spec)
		mustCommit(t, cat, id, reqs, ups)
		if got := load(t, cat, id).Spec(); len(specFields(got)) != 1 || !sameSpecFields(got, spec) {
			t.Fatalf("spec %v, want %v", got, spec)
		}
	})

	t.Run("SpecServerSideRetry", func(t *testing.T) {
		id, tbl := create(t)
		spec := evolveSpec(t, tbl, bucketField("id", "shard"))
		reqs, ups := specCommit(tbl.Metadata(), spec)
		sreqs, sups := schemaCommit(tbl.Metadata(), evolveSchema(t, tbl, addColumn("another_col", iceberg.PrimitiveTypes.String)))
		mustCommit(t, cat, id, sreqs, sups)
		mustCommit(t, cat, id, reqs, ups)
		loaded := load(t, cat, id)
		if !sameSpecFields(loaded.Spec(), spec) || len(loaded.Schema().Fields()) != 3 {
			t.Fatalf("spec %v schema %v after both", loaded.Spec(), loaded.Schema())
		}
	})

	t.Run("SpecConflict", func(t *testing.T) {
		spec := bucketSpec(3)
		id, tbl := create(t, catalog.WithPartitionSpec(&spec))
		reqs, ups := specCommit(tbl.Metadata(), evolveSpec(t, tbl, bucketField("data", "shard")))
		removed := evolveSpec(t, tbl, func(u *table.UpdateSpec) *table.UpdateSpec { return u.RemoveField("id_bucket") })
		rreqs, rups := specCommit(tbl.Metadata(), removed)
		mustCommit(t, cat, id, rreqs, rups)
		_, _, err := cat.CommitTable(ctx, id, reqs, ups)
		wantErr(t, "commit over a changed default spec", err, rest.ErrCommitFailed)
		if got := load(t, cat, id).Spec(); !sameSpecFields(got, removed) {
			t.Fatalf("spec %v, want the concurrent %v", got, removed)
		}
	})

	t.Run("SpecAssignmentConflict", func(t *testing.T) {
		id, tbl := create(t)
		reqs, ups := specCommit(tbl.Metadata(), evolveSpec(t, tbl, bucketField("id", "shard")))
		other := evolveSpec(t, tbl, func(u *table.UpdateSpec) *table.UpdateSpec {
			return u.AddField("id", iceberg.TruncateTransform{Width: 100}, "shard")
		})
		oreqs, oups := specCommit(tbl.Metadata(), other)
		mustCommit(t, cat, id, oreqs, oups)
		_, _, err := cat.CommitTable(ctx, id, reqs, ups)
		wantErr(t, "commit over a changed last-assigned partition id", err, rest.ErrCommitFailed)
		if got := load(t, cat, id).Spec(); !sameSpecFields(got, other) {
			t.Fatalf("spec %v, want the concurrent %v", got, other)
		}
	})

	t.Run("SpecThenRevert", func(t *testing.T) {
		spec := bucketSpec(3)
		_, tbl := create(t, catalog.WithPartitionSpec(&spec), catalog.WithProperties(iceberg.Properties{"format-version": "2"}))
		if tbl.Metadata().Version() != 2 {
			t.Fatalf("format version %d, want 2", tbl.Metadata().Version())
		}
		for _, change := range []func(*table.UpdateSpec) *table.UpdateSpec{
			func(u *table.UpdateSpec) *table.UpdateSpec { return u.AddIdentity("id") },
			func(u *table.UpdateSpec) *table.UpdateSpec { return u.RemoveField("id") },
		} {
			txn := tbl.NewTransaction()
			if err := change(txn.UpdateSpec(true)).Commit(); err != nil {
				t.Fatal(err)
			}
			var err error
			if tbl, err = txn.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got := tbl.Spec()
		if got.ID() != 0 || !sameSpecFields(got, bucketSpec(1)) { // nolint: the spec is a copy
			t.Fatalf("reverted spec %v (id %d), want the original, id 0", got, got.ID())
		}
	})

	t.Run("RemoveUnusedSpecsAndSchemas", func(t *testing.T) {
		spec := bucketSpec(3)
		id, tbl := create(t, catalog.WithPartitionSpec(&spec))
		tbl = appendFiles(t, tbl, fileA) // the snapshot was written with spec 0 and schema 0
		for _, change := range []func(*table.Transaction) error{
			func(txn *table.Transaction) error {
				return bucketField("data", "data_bucket")(txn.UpdateSpec(true)).Commit()
			},
			func(txn *table.Transaction) error { return txn.UpdateSpec(true).RemoveField("data_bucket").Commit() },
			func(txn *table.Transaction) error { return txn.UpdateSpec(true).AddIdentity("data").Commit() },
			func(txn *table.Transaction) error {
				return addColumn("col_to_delete", iceberg.PrimitiveTypes.Int32)(txn.UpdateSchema(true, false)).Commit()
			},
			func(txn *table.Transaction) error {
				return txn.UpdateSchema(true, false).DeleteColumn([]string{"col_to_delete"}).Commit()
			},
			func(txn *table.Transaction) error {
				return addColumn("extra_col", iceberg.PrimitiveTypes.String)(txn.UpdateSchema(true, false)).Commit()
			},
		} {
			txn := tbl.NewTransaction()
			if err := change(txn); err != nil {
				t.Fatal(err)
			}
			var err error
			if tbl, err = txn.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		md := tbl.Metadata()
		if len(md.PartitionSpecs()) != 3 || len(md.Schemas()) != 3 {
			t.Fatalf("%d specs and %d schemas, want 3 and 3", len(md.PartitionSpecs()), len(md.Schemas()))
		}
		// A client that found spec 1 and schema 1 unused removes them.
		mustCommit(t, cat, id,
			[]table.Requirement{table.AssertTableUUID(md.TableUUID()), table.AssertDefaultSpecID(md.DefaultPartitionSpec()),
				table.AssertCurrentSchemaID(md.CurrentSchema().ID)},
			[]table.Update{table.NewRemoveSpecUpdate([]int{1}), table.NewRemoveSchemasUpdate([]int{1})})
		md = load(t, cat, id).Metadata()
		var specIDs, schemaIDs []int
		for _, s := range md.PartitionSpecs() {
			specIDs = append(specIDs, s.ID())
		}
		for _, s := range md.Schemas() {
			schemaIDs = append(schemaIDs, s.ID)
		}
		slices.Sort(specIDs)
		slices.Sort(schemaIDs)
		if !slices.Equal(specIDs, []int{0, 2}) || !slices.Equal(schemaIDs, []int{0, 2}) {
			t.Fatalf("specs %v and schemas %v remain, want [0 2] and [0 2]", specIDs, schemaIDs)
		}
		// The default spec and the current schema cannot be removed.
		_, _, err := cat.CommitTable(ctx, id, []table.Requirement{}, []table.Update{table.NewRemoveSpecUpdate([]int{md.DefaultPartitionSpec()})})
		wantErr(t, "remove the default spec", err, rest.ErrBadRequest)
		_, _, err = cat.CommitTable(ctx, id, []table.Requirement{}, []table.Update{table.NewRemoveSchemasUpdate([]int{md.CurrentSchema().ID})})
		wantErr(t, "remove the current schema", err, rest.ErrBadRequest)
		wantFiles(t, load(t, cat, id), fileA)
	})

	t.Run("SortOrder", func(t *testing.T) {
		id, tbl := create(t)
		order := bucketOrder(t, 1, table.SortASC)
		reqs, ups := orderCommit(tbl.Metadata(), order)
		mustCommit(t, cat, id, reqs, ups)
		if got := load(t, cat, id).SortOrder(); !sameOrderFields(got, order) {
			t.Fatalf("order %v, want %v", got, order)
		}
	})

	t.Run("SortOrderServerSideRetry", func(t *testing.T) {
		id, tbl := create(t)
		order := bucketOrder(t, 1, table.SortASC)
		reqs, ups := orderCommit(tbl.Metadata(), order)
		sreqs, sups := schemaCommit(tbl.Metadata(), evolveSchema(t, tbl, addColumn("another_col", iceberg.PrimitiveTypes.String)))
		mustCommit(t, cat, id, sreqs, sups)
		mustCommit(t, cat, id, reqs, ups)
		if got := load(t, cat, id).SortOrder(); !sameOrderFields(got, order) {
			t.Fatalf("order %v, want %v", got, order)
		}
	})

	t.Run("SortOrderThenRevert", func(t *testing.T) {
		order := bucketOrder(t, 3, table.SortASC)
		id, tbl := create(t, catalog.WithSortOrder(order))
		byID, err := table.NewSortOrder(1, []table.SortField{{SourceIDs: []int{1}, Transform: iceberg.IdentityTransform{}, Direction: table.SortASC, NullOrder: table.NullsFirst}})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range []table.SortOrder{byID, bucketOrder(t, 1, table.SortASC)} {
			txn := tbl.NewTransaction()
			if err := txn.ReplaceSortOrder(o); err != nil {
				t.Fatal(err)
			}
			if tbl, err = txn.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got := load(t, cat, id).SortOrder()
		if got.OrderID() != 1 || !sameOrderFields(got, bucketOrder(t, 1, table.SortASC)) {
			t.Fatalf("reverted order %v, want the original, id 1", got)
		}
	})

	t.Run("UpdateTransaction", func(t *testing.T) {
		id, tbl := create(t)
		next := evolveSchema(t, tbl, addColumn("new_col", iceberg.PrimitiveTypes.Int64))
		spec := evolveSpec(t, tbl, bucketField("id", "shard"))
		reqs, ups := schemaCommit(tbl.Metadata(), next)
		sreqs, sups := specCommit(tbl.Metadata(), spec)
		mustCommit(t, cat, id, append(reqs, sreqs[1:]...), append(ups, sups...))
		loaded := load(t, cat, id)
		wantColumns(t, "schema", loaded.Schema(), next)
		if !sameSpecFields(loaded.Spec(), spec) {
			t.Fatalf("spec %v, want %v", loaded.Spec(), spec)
		}
		if n := previousFiles(loaded.Metadata()); n != 1 {
			t.Fatalf("%d previous metadata files, want 1: one commit", n)
		}
	})
}
