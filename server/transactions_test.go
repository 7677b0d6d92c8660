package server_test

import (
	"context"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// TestStagedCreate creates a table in two phases, as engines do for CREATE
// TABLE AS SELECT: stage-create stores nothing, the assert-create commit
// makes the table.
func TestStagedCreate(t *testing.T) {
	ctx := context.Background()
	cat := testenv.Client(t, testenv.StartCatalog(t, testenv.CatalogConfig(t)).URL)
	ident := table.Identifier{"db", "staged"}
	if err := cat.CreateNamespace(ctx, ident[:1], nil); err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.CreateTable(ctx, ident, eventSchema,
		catalog.WithStagedUpdates(table.NewSetPropertiesUpdate(iceberg.Properties{"phase": "two"})))
	if err != nil {
		t.Fatalf("staged create: %v", err)
	}
	loaded, err := cat.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Properties()["phase"] != "two" || loaded.MetadataLocation() != tbl.MetadataLocation() {
		t.Fatalf("loaded %s %v, created %s", loaded.MetadataLocation(), loaded.Properties(), tbl.MetadataLocation())
	}
	if _, err := cat.CreateTable(ctx, ident, eventSchema, catalog.WithStagedUpdates(table.NewSetPropertiesUpdate(iceberg.Properties{"x": "y"}))); err == nil {
		t.Fatal("a second staged create of the same table succeeded")
	}
}

// TestMultiTableCommitIsAllOrNothing commits to two tables in one
// transaction: a failed requirement on one leaves both unchanged.
func TestMultiTableCommitIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	cat := testenv.Client(t, testenv.StartCatalog(t, testenv.CatalogConfig(t)).URL)
	a, b := table.Identifier{"db", "a"}, table.Identifier{"db", "b"}
	if err := cat.CreateNamespace(ctx, a[:1], nil); err != nil {
		t.Fatal(err)
	}
	ta, err := cat.CreateTable(ctx, a, eventSchema)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := cat.CreateTable(ctx, b, eventSchema)
	if err != nil {
		t.Fatal(err)
	}
	set := func(v string) []table.Update {
		return []table.Update{table.NewSetPropertiesUpdate(iceberg.Properties{"v": v})}
	}
	err = cat.CommitTransaction(ctx, []table.TableCommit{
		{Identifier: a, Requirements: []table.Requirement{table.AssertTableUUID(ta.Metadata().TableUUID())}, Updates: set("1")},
		{Identifier: b, Requirements: []table.Requirement{table.AssertTableUUID(uuid.New())}, Updates: set("1")},
	})
	if err == nil {
		t.Fatal("a transaction with a failing requirement succeeded")
	}
	for _, id := range []table.Identifier{a, b} {
		if got, _ := cat.LoadTable(ctx, id); got.Properties()["v"] != "" {
			t.Fatalf("%v changed by a failed transaction", id)
		}
	}
	err = cat.CommitTransaction(ctx, []table.TableCommit{
		{Identifier: a, Requirements: []table.Requirement{table.AssertTableUUID(ta.Metadata().TableUUID())}, Updates: set("2")},
		{Identifier: b, Requirements: []table.Requirement{table.AssertTableUUID(tb.Metadata().TableUUID())}, Updates: set("2")},
	})
	if err != nil {
		t.Fatalf("transaction: %v", err)
	}
	for _, id := range []table.Identifier{a, b} {
		if got, _ := cat.LoadTable(ctx, id); got.Properties()["v"] != "2" {
			t.Fatalf("%v not changed by the transaction", id)
		}
	}
}
