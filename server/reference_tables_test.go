package server_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// localPath is the file behind a file:// location.
func localPath(t *testing.T, loc string) string {
	t.Helper()
	p, ok := strings.CutPrefix(loc, "file://")
	if !ok {
		t.Fatalf("%s is not a local file", loc)
	}
	return p
}

func fileExists(t *testing.T, loc string) bool {
	t.Helper()
	_, err := os.Stat(localPath(t, loc))
	return err == nil
}

// TestReferenceTables: create, load, rename, drop and purge, register,
// appends and metadata housekeeping, as Iceberg's CatalogTests expect.
func TestReferenceTables(t *testing.T) {
	e := newRefEnv(t)
	ctx := context.Background()
	cat := e.cat

	t.Run("BasicCreate", func(t *testing.T) {
		id := ident(e.ns(t), "tbl")
		if exists(t, cat, id) {
			t.Fatal("exists before creation")
		}
		tbl, err := cat.CreateTable(ctx, id, refSchema)
		if err != nil {
			t.Fatal(err)
		}
		if !exists(t, cat, id) {
			t.Fatal("does not exist after creation")
		}
		wantColumns(t, "created", tbl.Schema(), refFreshSchema)
		if tbl.Location() == "" || !tbl.Spec().IsUnpartitioned() || !tbl.SortOrder().IsUnsorted() || tbl.Properties() == nil {
			t.Fatalf("created table: location %q, spec %v, order %v", tbl.Location(), tbl.Spec(), tbl.SortOrder())
		}
		_, err = cat.CreateTable(ctx, id, refOtherSchema)
		wantErr(t, "create it again", err, catalog.ErrTableAlreadyExists)
		wantColumns(t, "after the refused create", load(t, cat, id).Schema(), refFreshSchema)
	})

	t.Run("CompleteCreateAndLoad", func(t *testing.T) {
		id := ident(e.ns(t), "tbl")
		spec, order := bucketSpec(3), bucketOrder(t, 3, table.SortASC)
		loc := "file://" + t.TempDir() + "/tbl"
		props := iceberg.Properties{"user": "someone", "created-at": "2022-02-25T00:38:19"}
		created, err := cat.CreateTable(ctx, id, refSchema, catalog.WithLocation(loc), catalog.WithPartitionSpec(&spec),
			catalog.WithSortOrder(order), catalog.WithProperties(props))
		if err != nil {
			t.Fatal(err)
		}
		for what, tbl := range map[string]*table.Table{"created": created, "loaded": load(t, cat, id)} {
			wantColumns(t, what, tbl.Schema(), refFreshSchema)
			if tbl.Location() != loc {
				t.Fatalf("%s location %s, want %s", what, tbl.Location(), loc)
			}
			if !sameSpecFields(tbl.Spec(), bucketSpec(1)) || !sameOrderFields(tbl.SortOrder(), bucketOrder(t, 1, table.SortASC)) {
				t.Fatalf("%s spec %v order %v: the requested ones on the fresh column ids", what, tbl.Spec(), tbl.SortOrder())
			}
			wantProps(t, tbl.Properties(), props, nil)
			if tbl.Metadata().TableUUID() != created.Metadata().TableUUID() {
				t.Fatalf("%s uuid %s, created %s", what, tbl.Metadata().TableUUID(), created.Metadata().TableUUID())
			}
		}
	})

	t.Run("DefaultColumnValues", func(t *testing.T) {
		id := ident(e.ns(t), "tbl")
		sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "colWithDefault", Type: iceberg.PrimitiveTypes.Int32,
			Required: true, InitialDefault: int32(12), WriteDefault: int32(10)})
		if _, err := cat.CreateTable(ctx, id, sc, catalog.WithProperties(iceberg.Properties{"format-version": "3"})); err != nil {
			t.Fatal(err)
		}
		got := load(t, cat, id).Schema().Field(0)
		if describe(got.InitialDefault) != "12" || describe(got.WriteDefault) != "10" {
			t.Fatalf("defaults %v / %v, want 12 / 10", got.InitialDefault, got.WriteDefault)
		}
	})

	t.Run("Variant", func(t *testing.T) {
		ns := e.ns(t)
		v3 := catalog.WithProperties(iceberg.Properties{"format-version": "3"})
		withVariant := iceberg.NewSchema(0,
			iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
			iceberg.NestedField{ID: 2, Name: "data", Type: iceberg.VariantType{}})
		tbl, err := cat.CreateTable(ctx, ident(ns, "v3"), withVariant, v3)
		if err != nil {
			t.Fatalf("create a v3 table with a variant column: %v", err)
		}
		if tbl.Metadata().Version() != 3 || !sameColumns(load(t, cat, ident(ns, "v3")).Schema(), withVariant) {
			t.Fatalf("v3 table: version %d, schema %v", tbl.Metadata().Version(), tbl.Schema())
		}
		_, err = cat.CreateTable(ctx, ident(ns, "v2"), withVariant, catalog.WithProperties(iceberg.Properties{"format-version": "2"}))
		if err == nil || exists(t, cat, ident(ns, "v2")) {
			t.Fatalf("a v2 table with a variant column: %v", err)
		}
		// Adding a variant column to a v3 table.
		added, err := cat.CreateTable(ctx, ident(ns, "added"), iceberg.NewSchema(0,
			iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true}), v3)
		if err != nil {
			t.Fatal(err)
		}
		// (iceberg-go's UpdateSchema cannot add a variant yet: the schema is
		// written out.)
		reqs, ups := schemaCommit(added.Metadata(), iceberg.NewSchema(1, withVariant.Fields()...))
		mustCommit(t, cat, ident(ns, "added"), reqs, ups)
		wantColumns(t, "after adding a variant", load(t, cat, ident(ns, "added")).Schema(), withVariant)
	})

	t.Run("LoadMissing", func(t *testing.T) {
		ns := e.ns(t)
		_, err := cat.LoadTable(ctx, ident(ns, "tbl"))
		wantErr(t, "load a missing table", err, catalog.ErrNoSuchTable)
		// In a missing namespace, the table is what does not exist
		// (clients map the ErrorModel's type to their exception).
		missing := table.Identifier{"ref_non_existing", "tbl"}
		if exists(t, cat, missing) {
			t.Fatal("a table in a missing namespace exists")
		}
		if code, typ := e.errorOf(t, "GET", "/v1/namespaces/ref_non_existing/tables/tbl", nil); code != 404 || typ != "NoSuchTableException" {
			t.Fatalf("load a table of a missing namespace: %d %s, want 404 NoSuchTableException", code, typ)
		}
		// A metadata table (ns.tbl.files) is the client's business: the
		// catalog answers it does not exist, and the client falls back.
		if _, err := cat.CreateTable(ctx, ident(ns, "tbl"), refSchema); err != nil {
			t.Fatal(err)
		}
		_, err = cat.LoadTable(ctx, append(ident(ns, "tbl"), "files"))
		wantErr(t, "load ns.tbl.files", err, catalog.ErrNoSuchTable)
	})

	t.Run("LoadWithMissingMetadataFile", func(t *testing.T) {
		// Metadata files are immutable, so a replica may serve one it has
		// cached after the object is gone. A replica that never read it,
		// sharing etcd and the warehouse, shows the reference behaviour.
		endpoint := testenv.StartEmbeddedEtcd(t).Endpoint
		warehouse := "file://" + t.TempDir()
		var urls []string
		for range 2 {
			cfg := testenv.CatalogConfig(t, endpoint)
			cfg.Warehouse = warehouse
			urls = append(urls, startRefCatalog(t, cfg).URL)
		}
		first := testenv.Client(t, urls[0])
		id := table.Identifier{"db", "tbl"}
		if err := first.CreateNamespace(ctx, id[:1], nil); err != nil {
			t.Fatal(err)
		}
		tbl, err := first.CreateTable(ctx, id, refSchema)
		if err != nil {
			t.Fatal(err)
		}
		file := localPath(t, tbl.MetadataLocation())
		aside := filepath.Join(t.TempDir(), "aside.json")
		if err := os.Rename(file, aside); err != nil {
			t.Fatal(err)
		}
		other := &refEnv{url: urls[1]}
		code, typ := other.errorOf(t, "GET", "/v1/namespaces/db/tables/tbl", nil)
		if code != 404 || typ != "NotFoundException" {
			t.Fatalf("load with the metadata file gone: %d %s, want 404 NotFoundException", code, typ)
		}
		if err := os.Rename(aside, file); err != nil {
			t.Fatal(err)
		}
		load(t, testenv.Client(t, urls[1]), id)
	})

	t.Run("Rename", func(t *testing.T) {
		ns := e.ns(t)
		from, to := ident(ns, "newtable"), ident(ns, "table_renamed")
		created, err := cat.CreateTable(ctx, from, refSchema)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cat.RenameTable(ctx, from, to); err != nil {
			t.Fatalf("rename: %v", err)
		}
		if exists(t, cat, from) || !exists(t, cat, to) {
			t.Fatal("rename left the old name or did not make the new one")
		}
		if got := load(t, cat, to); got.MetadataLocation() != created.MetadataLocation() {
			t.Fatalf("renamed table points at %s, was %s", got.MetadataLocation(), created.MetadataLocation())
		}
		if err := cat.DropTable(ctx, to); err != nil {
			t.Fatal(err)
		}
		wantList(t, listTableNames(t, cat, ns), nil)
	})

	t.Run("RenameErrors", func(t *testing.T) {
		ns := e.ns(t)
		a, b := ident(ns, "a"), ident(ns, "b")
		_, err := cat.RenameTable(ctx, a, b)
		wantErr(t, "rename a missing table", err, catalog.ErrNoSuchTable)
		if exists(t, cat, b) {
			t.Fatal("a failed rename created its destination")
		}
		ta, err := cat.CreateTable(ctx, a, refSchema)
		if err != nil {
			t.Fatal(err)
		}
		code, typ := e.errorOf(t, "POST", "/v1/tables/rename", map[string]any{
			"source":      map[string]any{"namespace": ns, "name": "a"},
			"destination": map[string]any{"namespace": []string{"ref_non_existing"}, "name": "renamed"}})
		if code != 404 || typ != "NoSuchNamespaceException" {
			t.Fatalf("rename into a missing namespace: %d %s, want 404 NoSuchNamespaceException", code, typ)
		}
		tb, err := cat.CreateTable(ctx, b, refSchema)
		if err != nil {
			t.Fatal(err)
		}
		code, typ = e.errorOf(t, "POST", "/v1/tables/rename", map[string]any{
			"source": map[string]any{"namespace": ns, "name": "a"}, "destination": map[string]any{"namespace": ns, "name": "b"}})
		if code != 409 || typ != "AlreadyExistsException" {
			t.Fatalf("rename onto an existing table: %d %s, want 409 AlreadyExistsException", code, typ)
		}
		if load(t, cat, a).Metadata().TableUUID() != ta.Metadata().TableUUID() ||
			load(t, cat, b).Metadata().TableUUID() != tb.Metadata().TableUUID() {
			t.Fatal("a refused rename changed a table")
		}
	})

	t.Run("DropAfterRenameDoesNotCorrupt", func(t *testing.T) {
		ns := e.ns(t)
		id, renamed := ident(ns, "tbl"), ident(ns, "renamed")
		writeAndAppend := func(tbl *table.Table, f fileRef) *table.Table {
			t.Helper()
			p := localPath(t, tbl.Location()+"/data/"+f.name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("not really parquet"), 0o644); err != nil {
				t.Fatal(err)
			}
			return appendFiles(t, tbl, f)
		}
		first, err := cat.CreateTable(ctx, id, refSchema)
		if err != nil {
			t.Fatal(err)
		}
		writeAndAppend(first, fileA)
		if _, err := cat.RenameTable(ctx, id, renamed); err != nil {
			t.Fatal(err)
		}
		// The new table gets the default location the renamed one has.
		second, err := cat.CreateTable(ctx, id, refSchema)
		if err != nil {
			t.Fatal(err)
		}
		second = writeAndAppend(second, fileB)
		if err := cat.PurgeTable(ctx, renamed); err != nil {
			t.Fatal(err)
		}
		if exists(t, cat, renamed) || !exists(t, cat, id) {
			t.Fatal("purge removed the wrong entry")
		}
		current := load(t, cat, id)
		wantFiles(t, current, fileB)
		for _, f := range []string{current.MetadataLocation(), current.Location() + "/data/" + fileB.name} {
			if !fileExists(t, f) {
				t.Fatalf("purging the renamed table deleted %s of the new one", f)
			}
		}
		for _, snap := range current.Metadata().Snapshots() {
			if !fileExists(t, snap.ManifestList) {
				t.Fatalf("purging the renamed table deleted the manifest list %s of the new one", snap.ManifestList)
			}
		}
	})

	t.Run("Drop", func(t *testing.T) {
		ns := e.ns(t)
		for _, purge := range []bool{false, true} {
			id := ident(ns, map[bool]string{false: "kept", true: "purged"}[purge])
			tbl, err := cat.CreateTable(ctx, id, refSchema)
			if err != nil {
				t.Fatal(err)
			}
			if purge {
				err = cat.PurgeTable(ctx, id)
			} else {
				err = cat.DropTable(ctx, id)
			}
			if err != nil {
				t.Fatalf("drop (purge %v): %v", purge, err)
			}
			if exists(t, cat, id) {
				t.Fatalf("exists after drop (purge %v)", purge)
			}
			// A drop keeps the metadata file (another catalog may use it);
			// a purge deletes it.
			if fileExists(t, tbl.MetadataLocation()) == purge {
				t.Fatalf("purge %v: metadata file exists = %v", purge, !purge)
			}
		}
		wantErr(t, "drop a missing table", cat.DropTable(ctx, ident(ns, "notable")), catalog.ErrNoSuchTable)
	})

	t.Run("ListTables", func(t *testing.T) {
		parent := e.ns(t)
		ns1, ns2 := ident(parent, "ns_1"), ident(parent, "ns_2")
		for _, ns := range []table.Identifier{ns1, ns2} {
			if err := cat.CreateNamespace(ctx, ns, nil); err != nil {
				t.Fatal(err)
			}
		}
		wantList(t, listTableNames(t, cat, ns1), nil)
		wantList(t, listTableNames(t, cat, ns2), nil)
		step := func(op func() error, want1, want2 []string) {
			t.Helper()
			if err := op(); err != nil {
				t.Fatal(err)
			}
			wantList(t, listTableNames(t, cat, ns1), want1)
			wantList(t, listTableNames(t, cat, ns2), want2)
		}
		createOp := func(id table.Identifier) func() error {
			return func() error { _, err := cat.CreateTable(ctx, id, refSchema); return err }
		}
		dropOp := func(id table.Identifier) func() error { return func() error { return cat.DropTable(ctx, id) } }
		step(createOp(ident(ns1, "table_1")), []string{"table_1"}, nil)
		step(createOp(ident(ns2, "table_1")), []string{"table_1"}, []string{"table_1"})
		step(createOp(ident(ns1, "table_2")), []string{"table_1", "table_2"}, []string{"table_1"})
		step(dropOp(ident(ns1, "table_1")), []string{"table_2"}, []string{"table_1"})
		step(dropOp(ident(ns1, "table_2")), nil, []string{"table_1"})
		step(dropOp(ident(ns2, "table_1")), nil, nil)
	})

	t.Run("CreateWithoutNamespace", func(t *testing.T) {
		_, err := cat.CreateTable(ctx, table.Identifier{"ref_non_existing", "table"}, refSchema)
		wantErr(t, "create in a missing namespace", err, catalog.ErrNoSuchNamespace)
	})

	t.Run("Append", func(t *testing.T) {
		spec := bucketSpec(3)
		id := ident(e.ns(t), "tbl")
		tbl, err := cat.CreateTable(ctx, id, refSchema, catalog.WithPartitionSpec(&spec))
		if err != nil {
			t.Fatal(err)
		}
		wantFiles(t, tbl)
		appendFiles(t, tbl, fileA)
		wantFiles(t, load(t, cat, id), fileA)
	})

	// An append prepared on a stale table is refused (409) once another
	// append moved the branch; the client's retry on the fresh state then
	// keeps both.
	for _, nonEmpty := range []bool{false, true} {
		t.Run(map[bool]string{false: "ConcurrentAppendEmptyTable", true: "ConcurrentAppendNonEmptyTable"}[nonEmpty], func(t *testing.T) {
			spec := bucketSpec(3)
			id := ident(e.ns(t), "tbl")
			// iceberg-go retries a refused commit only when asked to.
			tbl, err := cat.CreateTable(ctx, id, refSchema, catalog.WithPartitionSpec(&spec),
				catalog.WithProperties(iceberg.Properties{"commit.retry.num-retries": "4"}))
			if err != nil {
				t.Fatal(err)
			}
			base := []fileRef{}
			if nonEmpty {
				tbl = appendFiles(t, tbl, fileC)
				base = append(base, fileC)
			}
			reqs, ups := capture(t, id, tbl.Metadata(), appendChange(t, tbl.Metadata(), fileA))
			appendFiles(t, load(t, cat, id), fileB)
			wantFiles(t, load(t, cat, id), append(base, fileB)...)
			_, _, err = cat.CommitTable(ctx, id, reqs, ups)
			wantErr(t, "the stale append", err, rest.ErrCommitFailed)
			// iceberg-go's own commit of the same append: refused, then
			// retried on the fresh state.
			n := e.status.count()
			appendFiles(t, tbl, fileA)
			if got := e.status.since(n); len(got) < 2 || got[0] != 409 || got[len(got)-1] != 200 {
				t.Fatalf("commit statuses %v, want a 409 then a 200", got)
			}
			wantFiles(t, load(t, cat, id), append(base, fileA, fileB)...)
		})
	}

	t.Run("MetadataFileRemovalAfterCommit", func(t *testing.T) {
		id := ident(e.ns(t), "tbl")
		tbl, err := cat.CreateTable(ctx, id, refSchema)
		if err != nil {
			t.Fatal(err)
		}
		// The commits go through CommitTable, not iceberg-go's table
		// commit, which would delete old files itself: the server must.
		md, written := tbl.Metadata(), []string{tbl.MetadataLocation()} // every metadata file, oldest first
		commit := func(reqs []table.Requirement, ups []table.Update) {
			t.Helper()
			var loc string
			if md, loc, err = cat.CommitTable(ctx, id, reqs, ups); err != nil {
				t.Fatal(err)
			}
			written = append(written, loc)
		}
		addCol := func(name string) {
			t.Helper()
			next := iceberg.NewSchema(md.CurrentSchema().ID+1, append(md.CurrentSchema().Fields(),
				iceberg.NestedField{ID: md.LastColumnID() + 1, Name: name, Type: iceberg.PrimitiveTypes.Int64})...)
			commit(schemaCommit(md, next))
		}
		setProps := func(p iceberg.Properties) {
			t.Helper()
			commit([]table.Requirement{}, []table.Update{table.NewSetPropertiesUpdate(p)})
		}
		check := func(keep int) {
			t.Helper()
			if n := previousFiles(md); n != keep {
				t.Fatalf("%d previous files, want %d", n, keep)
			}
			live := written[len(written)-keep-1:]
			for _, f := range written {
				if fileExists(t, f) != slices.Contains(live, f) {
					t.Fatalf("metadata file %s exists = %v; only the current one and %d previous should", f, !slices.Contains(live, f), keep)
				}
			}
		}
		for _, c := range []string{"a", "b", "c"} {
			addCol(c)
		}
		check(3) // off by default: nothing deleted
		setProps(iceberg.Properties{"write.metadata.delete-after-commit.enabled": "true", "write.metadata.previous-versions-max": "2"})
		check(2)
		for _, c := range []string{"d1", "d2", "d3"} {
			addCol(c)
			check(2)
		}
		setProps(iceberg.Properties{"write.metadata.previous-versions-max": "4"})
		for _, c := range []string{"e1", "e2", "e3", "e4"} {
			addCol(c)
		}
		check(4)
		if load(t, cat, id).MetadataLocation() != written[len(written)-1] {
			t.Fatal("the table does not point at the last commit")
		}
	})

	t.Run("Register", func(t *testing.T) {
		id := ident(e.ns(t), "tbl")
		spec, order := bucketSpec(3), bucketOrder(t, 3, table.SortASC)
		props := iceberg.Properties{"user": "someone", "created-at": "2023-01-15T00:00:01"}
		orig, err := cat.CreateTable(ctx, id, refSchema, catalog.WithPartitionSpec(&spec), catalog.WithSortOrder(order), catalog.WithProperties(props))
		if err != nil {
			t.Fatal(err)
		}
		orig = appendFiles(t, orig, fileA)
		orig = appendFiles(t, orig, fileB)
		txn := orig.NewTransaction()
		fa := dataFiles(t, orig.Metadata(), fileA)
		if err := txn.ReplaceDataFilesWithDataFiles(ctx, fa, nil, nil); err != nil {
			t.Fatal(err)
		}
		if orig, err = txn.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		orig = appendFiles(t, orig, fileC)
		if err := cat.DropTable(ctx, id); err != nil {
			t.Fatal(err)
		}
		reg, err := cat.RegisterTable(ctx, id, orig.MetadataLocation())
		if err != nil {
			t.Fatalf("register: %v", err)
		}
		if !exists(t, cat, id) {
			t.Fatal("registered table does not exist")
		}
		a, b := orig.Metadata(), reg.Metadata()
		wantProps(t, b.Properties(), props, nil)
		if !sameColumns(b.CurrentSchema(), a.CurrentSchema()) || len(b.Schemas()) != len(a.Schemas()) ||
			!slices.EqualFunc(b.PartitionSpecs(), a.PartitionSpecs(), func(x, y iceberg.PartitionSpec) bool { return x.Equals(y) }) ||
			!slices.EqualFunc(b.SortOrders(), a.SortOrders(), func(x, y table.SortOrder) bool { return x.Equals(y) }) ||
			b.CurrentSnapshot().SnapshotID != a.CurrentSnapshot().SnapshotID || len(b.Snapshots()) != len(a.Snapshots()) {
			t.Fatalf("registered metadata differs from the original")
		}
		wantFiles(t, reg, fileB, fileC)
		appendFiles(t, reg, fileA)
		wantFiles(t, load(t, cat, id), fileA, fileB, fileC)
		// Registering over an existing table is refused.
		_, err = cat.RegisterTable(ctx, id, orig.MetadataLocation())
		wantErr(t, "register over an existing table", err, catalog.ErrTableAlreadyExists)
		if err := cat.DropTable(ctx, id); err != nil || exists(t, cat, id) {
			t.Fatalf("drop the registered table: %v", err)
		}
	})
}
