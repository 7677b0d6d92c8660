package server_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/view"
	"github.com/google/uuid"
)

// The schemas of Iceberg's ViewCatalogTests; a view keeps its schema's ids.
var (
	viewSchema = iceberg.NewSchemaWithIdentifiers(5, nil,
		iceberg.NestedField{ID: 3, Name: "id", Type: iceberg.PrimitiveTypes.Int32, Required: true, Doc: "unique ID"},
		iceberg.NestedField{ID: 4, Name: "data", Type: iceberg.PrimitiveTypes.String, Required: true})
	// viewFreshSchema is viewSchema as iceberg-go's client sends it: it
	// renumbers the columns before creating a view (Java's does not).
	viewFreshSchema = iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int32, Required: true, Doc: "unique ID"},
		iceberg.NestedField{ID: 2, Name: "data", Type: iceberg.PrimitiveTypes.String, Required: true})
	viewOtherSchema = iceberg.NewSchemaWithIdentifiers(7, nil,
		iceberg.NestedField{ID: 1, Name: "some_id", Type: iceberg.PrimitiveTypes.Int32, Required: true})
)

// viewVer is a view version of the queries, given as dialect, sql pairs.
func viewVer(t *testing.T, id int64, schemaID int, ns table.Identifier, dialectSQL ...string) *view.Version {
	t.Helper()
	var reps []view.Representation
	for i := 0; i+1 < len(dialectSQL); i += 2 {
		reps = append(reps, view.NewRepresentation(dialectSQL[i+1], dialectSQL[i]))
	}
	v, err := view.NewVersion(id, schemaID, reps, ns)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// replaceVersion is the commit of a client replacing the view's version:
// the schema added, the version added and made current, under the view's uuid.
func replaceVersion(base view.Metadata, sc *iceberg.Schema, v *view.Version, extra ...view.Update) ([]view.Requirement, []view.Update) {
	ups := []view.Update{}
	if sc != nil {
		ups = append(ups, view.NewAddSchemaUpdate(sc))
		v.SchemaID = view.LastAddedID
	}
	ups = append(ups, view.NewAddViewVersionUpdate(v), view.NewSetCurrentVersionUpdate(view.LastAddedID))
	return []view.Requirement{view.AssertViewUUID(base.ViewUUID())}, append(ups, extra...)
}

func versionIDs(md view.Metadata) (versions, history []int64) {
	for _, v := range md.Versions() {
		versions = append(versions, v.VersionID)
	}
	for _, h := range md.VersionLog() {
		history = append(history, h.VersionID)
	}
	slices.Sort(versions)
	return versions, history
}

func sqls(v *view.Version) []string {
	var out []string
	for _, r := range v.Representations {
		out = append(out, r.Dialect+": "+r.Sql)
	}
	return out
}

// TestReferenceViews: views, and views beside tables, as Iceberg's
// ViewCatalogTests expect.
func TestReferenceViews(t *testing.T) {
	e := newRefEnv(t)
	ctx := context.Background()
	cat := e.cat
	viewExists := func(t *testing.T, id table.Identifier) bool {
		t.Helper()
		ok, err := cat.CheckViewExists(ctx, id)
		if err != nil {
			t.Fatalf("view %v exists: %v", id, err)
		}
		return ok
	}
	createView := func(t *testing.T, id table.Identifier, opts ...catalog.CreateViewOpt) *view.View {
		t.Helper()
		v, err := cat.CreateView(ctx, id, viewVer(t, 1, 0, id[:len(id)-1], "spark", "select * from ns.tbl"), viewSchema, opts...)
		if err != nil {
			t.Fatalf("create view %v: %v", id, err)
		}
		return v
	}
	loadView := func(t *testing.T, id table.Identifier) *view.View {
		t.Helper()
		v, err := cat.LoadView(ctx, id)
		if err != nil {
			t.Fatalf("load view %v: %v", id, err)
		}
		return v
	}

	t.Run("LoadMissing", func(t *testing.T) {
		id := table.Identifier{"ref_non_existing", "view"}
		if viewExists(t, id) {
			t.Fatal("a view in a missing namespace exists")
		}
		_, err := cat.LoadView(ctx, id)
		wantErr(t, "load a view of a missing namespace", err, catalog.ErrNoSuchView)
		if code, typ := e.errorOf(t, "GET", "/v1/namespaces/ref_non_existing/views/view", nil); code != 404 || typ != "NoSuchViewException" {
			t.Fatalf("load a view of a missing namespace: %d %s, want 404 NoSuchViewException", code, typ)
		}
	})

	t.Run("TableAndViewAreDistinct", func(t *testing.T) {
		ns := e.ns(t)
		tbl, vw := ident(ns, "table"), ident(ns, "view")
		if _, err := cat.CreateTable(ctx, tbl, refSchema); err != nil {
			t.Fatal(err)
		}
		createView(t, vw)
		if viewExists(t, tbl) || exists(t, cat, vw) {
			t.Fatal("a table shows as a view, or a view as a table")
		}
		_, err := cat.LoadView(ctx, tbl)
		wantErr(t, "load a table as a view", err, catalog.ErrNoSuchView)
		_, err = cat.LoadTable(ctx, vw)
		wantErr(t, "load a view as a table", err, catalog.ErrNoSuchTable)
	})

	t.Run("BasicCreate", func(t *testing.T) {
		ns := e.ns(t)
		id := ident(ns, "view")
		if viewExists(t, id) {
			t.Fatal("exists before creation")
		}
		v := createView(t, id)
		if !viewExists(t, id) || v.MetadataLocation() == "" {
			t.Fatalf("created view: exists %v, metadata %q", viewExists(t, id), v.MetadataLocation())
		}
		md := loadView(t, id).Metadata()
		versions, history := versionIDs(md)
		if !slices.Equal(versions, []int64{1}) || !slices.Equal(history, []int64{1}) || md.CurrentSchemaID() != 0 ||
			len(md.Schemas()) != 1 || !sameColumns(md.CurrentSchema(), viewFreshSchema) {
			t.Fatalf("versions %v history %v schema %d %v", versions, history, md.CurrentSchemaID(), md.CurrentSchema())
		}
		cv := md.CurrentVersion()
		if cv.VersionID != 1 || cv.SchemaID != 0 || !slices.Equal(cv.DefaultNamespace, ns) ||
			!slices.Equal(sqls(cv), []string{"spark: select * from ns.tbl"}) {
			t.Fatalf("current version %s", describe(cv))
		}
		if err := cat.DropView(ctx, id); err != nil || viewExists(t, id) {
			t.Fatalf("drop: %v", err)
		}
	})

	t.Run("CompleteCreate", func(t *testing.T) {
		ns := e.ns(t)
		id := ident(ns, "view")
		loc := "file://" + t.TempDir() + "/ns/view"
		ver := viewVer(t, 1, 0, ns, "spark", "select * from ns.tbl", "trino", "select * from ns.tbl using X")
		ver.DefaultCatalog = "test"
		created, err := cat.CreateView(ctx, id, ver, viewSchema, catalog.WithViewLocation(loc),
			catalog.WithViewProperties(iceberg.Properties{"prop1": "val1", "prop2": "val2"}))
		if err != nil {
			t.Fatal(err)
		}
		v := loadView(t, id)
		if v.Metadata().Location() != loc || v.Metadata().ViewUUID() != created.Metadata().ViewUUID() {
			t.Fatalf("location %s uuid %s", v.Metadata().Location(), v.Metadata().ViewUUID())
		}
		wantProps(t, v.Metadata().Properties(), map[string]string{"prop1": "val1", "prop2": "val2"}, nil)
		cv := v.Metadata().CurrentVersion()
		if cv.DefaultCatalog != "test" || !slices.Equal(sqls(cv), []string{"spark: select * from ns.tbl", "trino: select * from ns.tbl using X"}) {
			t.Fatalf("current version %s", describe(cv))
		}
	})

	t.Run("CustomMetadataLocation", func(t *testing.T) {
		id := ident(e.ns(t), "view")
		// Inside the view's location: a path outside it is refused (issue 14).
		viewLoc := "file://" + t.TempDir()
		custom := viewLoc + "/custom-location"
		v, err := cat.CreateView(ctx, id, viewVer(t, 1, 0, id[:1], "spark", "select * from ns.tbl"), viewSchema,
			catalog.WithViewLocation(viewLoc), catalog.WithViewProperties(iceberg.Properties{"write.metadata.path": custom}))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(v.MetadataLocation(), custom+"/") {
			t.Fatalf("metadata written to %s, want under write.metadata.path %s", v.MetadataLocation(), custom)
		}
		_, ups := replaceVersion(v.Metadata(), nil, viewVer(t, 2, 0, id[:1], "spark", "select 1"))
		replaced, err := cat.UpdateView(ctx, id, []view.Requirement{view.AssertViewUUID(v.Metadata().ViewUUID())}, ups)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(replaced.MetadataLocation(), custom+"/") {
			t.Fatalf("replaced metadata written to %s, want under %s", replaced.MetadataLocation(), custom)
		}
	})

	// The catalog keeps a view schema's column ids as sent, and numbers
	// the schema itself.
	t.Run("KeepsColumnIDs", func(t *testing.T) {
		id := ident(e.ns(t), "view")
		code, _ := e.errorOf(t, "POST", "/v1/namespaces/"+nsPath(id[:1])+"/views", map[string]any{
			"name": "view", "schema": viewSchema, "view-version": viewVer(t, 1, 5, id[:1], "spark", "select * from ns.tbl"),
			"properties": map[string]string{}})
		if code != 200 {
			t.Fatalf("create: %d", code)
		}
		md := loadView(t, id).Metadata()
		if md.CurrentSchemaID() != 0 || md.CurrentVersion().SchemaID != 0 || !sameColumns(md.CurrentSchema(), viewSchema) {
			t.Fatalf("schema %d %v, version's schema %d; want 0, the columns as sent, 0",
				md.CurrentSchemaID(), md.CurrentSchema(), md.CurrentVersion().SchemaID)
		}
	})

	t.Run("DuplicateDialectRefused", func(t *testing.T) {
		id := ident(e.ns(t), "view")
		dup := &view.Version{VersionID: 1, Representations: []view.Representation{
			view.NewRepresentation("select * from ns.tbl", "trino"), view.NewRepresentation("select * from ns.tbl", "trino")},
			DefaultNamespace: id[:1], Summary: view.VersionSummary{}}
		code, _ := e.errorOf(t, "POST", "/v1/namespaces/"+nsPath(id[:1])+"/views", map[string]any{
			"name": "view", "schema": viewSchema, "view-version": dup, "properties": map[string]string{}})
		if code != 400 || viewExists(t, id) {
			t.Fatalf("create a view with two queries for one dialect: %d, want 400 and no view", code)
		}
		v := createView(t, id)
		dup.VersionID = 2
		_, err := cat.UpdateView(ctx, id, []view.Requirement{view.AssertViewUUID(v.Metadata().ViewUUID())},
			[]view.Update{view.NewAddViewVersionUpdate(dup), view.NewSetCurrentVersionUpdate(view.LastAddedID)})
		wantErr(t, "replace with two queries for one dialect", err, rest.ErrBadRequest)
	})

	t.Run("CreateExisting", func(t *testing.T) {
		ns := e.ns(t)
		id, tbl := ident(ns, "view"), ident(ns, "table")
		createView(t, id)
		_, err := cat.CreateView(ctx, id, viewVer(t, 1, 0, ns, "spark", "select 1"), viewOtherSchema)
		wantErr(t, "create the view again", err, catalog.ErrViewAlreadyExists)
		if _, err := cat.CreateTable(ctx, tbl, refSchema); err != nil {
			t.Fatal(err)
		}
		_, err = cat.CreateView(ctx, tbl, viewVer(t, 1, 0, ns, "spark", "select 1"), viewOtherSchema)
		wantErr(t, "create a view over a table", err, catalog.ErrViewAlreadyExists)
		_, err = cat.CreateTable(ctx, id, refSchema)
		wantErr(t, "create a table over a view", err, catalog.ErrTableAlreadyExists)
		_, err = cat.RegisterView(ctx, tbl, loadView(t, id).MetadataLocation())
		wantErr(t, "register a view over a table", err, catalog.ErrViewAlreadyExists)
	})

	// A create transaction of a table whose name a view took meanwhile.
	t.Run("CreateTableTransactionOverView", func(t *testing.T) {
		id := ident(e.ns(t), "view")
		staged := e.stageCreate(t, id, tableDef{schema: refSchema})
		createView(t, id)
		code, typ := e.errorOf(t, "POST", "/v1/namespaces/"+nsPath(id[:1])+"/tables/view", map[string]any{
			"requirements": []table.Requirement{table.AssertCreate()}, "updates": createUpdates(staged)})
		if code != 409 || typ != "AlreadyExistsException" {
			t.Fatalf("commit the create: %d %s, want 409 AlreadyExistsException", code, typ)
		}
		if exists(t, cat, id) || !viewExists(t, id) {
			t.Fatal("the view was replaced by a table")
		}
	})

	// Replacing a table or a view through the other kind's endpoint finds
	// nothing to replace and changes nothing.
	t.Run("ReplaceAcrossKinds", func(t *testing.T) {
		ns := e.ns(t)
		vw, tbl := ident(ns, "view"), ident(ns, "table")
		v := createView(t, vw)
		_, _, err := cat.CommitTable(ctx, vw, []table.Requirement{}, []table.Update{table.NewSetPropertiesUpdate(iceberg.Properties{"a": "b"})})
		wantErr(t, "replace a view as a table", err, catalog.ErrNoSuchTable)
		created, err := cat.CreateTable(ctx, tbl, refSchema)
		if err != nil {
			t.Fatal(err)
		}
		reqs, ups := replaceVersion(v.Metadata(), viewOtherSchema, viewVer(t, 2, 0, ns, "spark", "select 1"))
		_, err = cat.UpdateView(ctx, tbl, reqs, ups)
		wantErr(t, "replace a table as a view", err, catalog.ErrNoSuchView)
		if load(t, cat, tbl).MetadataLocation() != created.MetadataLocation() || loadView(t, vw).MetadataLocation() != v.MetadataLocation() {
			t.Fatal("a refused replace changed something")
		}
	})

	t.Run("Rename", func(t *testing.T) {
		ns := e.ns(t)
		other := ident(ns, "other")
		if err := cat.CreateNamespace(ctx, other, nil); err != nil {
			t.Fatal(err)
		}
		for _, to := range []table.Identifier{ident(ns, "renamedView"), ident(other, "renamedView")} {
			from := ident(ns, "view")
			v := createView(t, from)
			if _, err := cat.RenameView(ctx, from, to); err != nil {
				t.Fatalf("rename to %v: %v", to, err)
			}
			if viewExists(t, from) || !viewExists(t, to) {
				t.Fatal("rename left the old name or did not make the new one")
			}
			if got := loadView(t, to); got.MetadataLocation() != v.MetadataLocation() || !got.Metadata().Equals(v.Metadata()) {
				t.Fatal("rename changed the view's metadata")
			}
			wantErr(t, "drop the old name", cat.DropView(ctx, from), catalog.ErrNoSuchView)
			if err := cat.DropView(ctx, to); err != nil || viewExists(t, to) {
				t.Fatalf("drop the new name: %v", err)
			}
		}
	})

	t.Run("RenameErrors", func(t *testing.T) {
		ns := e.ns(t)
		one, two, tbl := ident(ns, "viewOne"), ident(ns, "viewTwo"), ident(ns, "table")
		_, err := cat.RenameView(ctx, ident(ns, "non_existing"), ident(ns, "renamedView"))
		wantErr(t, "rename a missing view", err, catalog.ErrNoSuchView)
		createView(t, one)
		createView(t, two)
		if _, err := cat.CreateTable(ctx, tbl, refSchema); err != nil {
			t.Fatal(err)
		}
		rename := func(path string, from, to table.Identifier) (int, string) {
			return e.errorOf(t, "POST", path, map[string]any{
				"source":      map[string]any{"namespace": from[:len(from)-1], "name": from[len(from)-1]},
				"destination": map[string]any{"namespace": to[:len(to)-1], "name": to[len(to)-1]}})
		}
		for _, c := range []struct {
			what, path string
			from, to   table.Identifier
			code       int
			typ        string
		}{
			{"view into a missing namespace", "/v1/views/rename", one, table.Identifier{"ref_non_existing", "renamedView"}, 404, "NoSuchNamespaceException"},
			{"view onto a view", "/v1/views/rename", one, two, 409, "AlreadyExistsException"},
			{"view onto a table", "/v1/views/rename", one, tbl, 409, "AlreadyExistsException"},
			{"table onto a view", "/v1/tables/rename", tbl, one, 409, "AlreadyExistsException"},
		} {
			if code, typ := rename(c.path, c.from, c.to); code != c.code || typ != c.typ {
				t.Fatalf("rename a %s: %d %s, want %d %s", c.what, code, typ, c.code, c.typ)
			}
		}
		if !viewExists(t, one) || !viewExists(t, two) || !exists(t, cat, tbl) {
			t.Fatal("a refused rename removed something")
		}
	})

	t.Run("List", func(t *testing.T) {
		parent := e.ns(t)
		ns1, ns2 := ident(parent, "ns1"), ident(parent, "ns2")
		for _, ns := range []table.Identifier{ns1, ns2} {
			if err := cat.CreateNamespace(ctx, ns, nil); err != nil {
				t.Fatal(err)
			}
		}
		names := func(ns table.Identifier) []string {
			var out []string
			for _, s := range listViews(t, cat, ns) {
				out = append(out, s[strings.LastIndex(s, ".")+1:])
			}
			return sorted(out)
		}
		step := func(op func(), want1, want2 []string) {
			t.Helper()
			op()
			wantList(t, names(ns1), want1)
			wantList(t, names(ns2), want2)
		}
		drop := func(id table.Identifier) func() {
			return func() {
				if err := cat.DropView(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
		}
		step(func() {}, nil, nil)
		step(func() { createView(t, ident(ns1, "view1")) }, []string{"view1"}, nil)
		step(func() { createView(t, ident(ns2, "view2")) }, []string{"view1"}, []string{"view2"})
		step(func() { createView(t, ident(ns2, "view3")) }, []string{"view1"}, []string{"view2", "view3"})
		step(drop(ident(ns2, "view2")), []string{"view1"}, []string{"view3"})
		step(drop(ident(ns2, "view3")), []string{"view1"}, nil)
		step(drop(ident(ns1, "view1")), nil, nil)
	})

	t.Run("ListViewsAndTables", func(t *testing.T) {
		ns := e.ns(t)
		tbl, vw := ident(ns, "table"), ident(ns, "view")
		if _, err := cat.CreateTable(ctx, tbl, refSchema); err != nil {
			t.Fatal(err)
		}
		createView(t, vw)
		if got := listViews(t, cat, ns); !slices.Equal(got, []string{strings.Join(vw, ".")}) {
			t.Fatalf("views %v", got)
		}
		wantList(t, listTableNames(t, cat, ns), []string{"table"})
		if err := cat.DropTable(ctx, tbl); err != nil {
			t.Fatal(err)
		}
		if got := listViews(t, cat, ns); len(got) != 1 {
			t.Fatalf("dropping the table changed the views: %v", got)
		}
		if err := cat.DropView(ctx, vw); err != nil {
			t.Fatal(err)
		}
		wantList(t, listTableNames(t, cat, ns), nil)
		if got := listViews(t, cat, ns); len(got) != 0 {
			t.Fatalf("views %v after the drops", got)
		}
	})

	t.Run("CreateOrReplace", func(t *testing.T) {
		ns := e.ns(t)
		id := ident(ns, "view")
		created, err := cat.CreateView(ctx, id, viewVer(t, 1, 0, ns, "spark", "select * from ns.tbl"), viewSchema,
			catalog.WithViewProperties(iceberg.Properties{"prop1": "val1", "prop2": "val2"}))
		if err != nil {
			t.Fatal(err)
		}
		first := created.Metadata().CurrentVersion()
		reqs, ups := replaceVersion(created.Metadata(), viewOtherSchema, viewVer(t, 2, 0, ns, "trino", "select count(*) from ns.tbl"),
			view.NewSetPropertiesUpdate(iceberg.Properties{"replacedProp1": "val1", "replacedProp2": "val2", "replace.drop-dialect.allowed": "true"}))
		if _, err := cat.UpdateView(ctx, id, reqs, ups); err != nil {
			t.Fatalf("replace: %v", err)
		}
		md := loadView(t, id).Metadata()
		wantProps(t, md.Properties(), map[string]string{"prop1": "val1", "prop2": "val2", "replacedProp1": "val1", "replacedProp2": "val2"}, nil)
		versions, history := versionIDs(md)
		if !slices.Equal(versions, []int64{1, 2}) || !slices.Equal(history, []int64{1, 2}) {
			t.Fatalf("versions %v history %v, want [1 2] and [1 2]", versions, history)
		}
		cv := md.CurrentVersion()
		if md.CurrentSchemaID() != 1 || len(md.Schemas()) != 2 || !sameColumns(md.CurrentSchema(), viewOtherSchema) || cv.SchemaID != 1 ||
			!slices.Equal(sqls(cv), []string{"trino: select count(*) from ns.tbl"}) {
			t.Fatalf("schema %d (%d schemas), version %s", md.CurrentSchemaID(), len(md.Schemas()), describe(cv))
		}
		if !slices.ContainsFunc(md.Versions(), func(v *view.Version) bool { return v.Equals(first) }) {
			t.Fatal("the first version changed")
		}
	})

	t.Run("ReplaceVersion", func(t *testing.T) {
		ns := e.ns(t)
		id := ident(ns, "view")
		created, err := cat.CreateView(ctx, id, viewVer(t, 1, 0, ns, "trino", "select * from ns.tbl", "spark", "select * from ns.tbl"), viewSchema,
			catalog.WithViewProperties(iceberg.Properties{"replace.drop-dialect.allowed": "true"}))
		if err != nil {
			t.Fatal(err)
		}
		next := viewVer(t, 2, 0, ns, "trino", "select * from ns.tbl")
		next.DefaultCatalog = "default"
		reqs, ups := replaceVersion(created.Metadata(), viewOtherSchema, next)
		if _, err := cat.UpdateView(ctx, id, reqs, ups); err != nil {
			t.Fatalf("replace: %v", err)
		}
		md := loadView(t, id).Metadata()
		versions, history := versionIDs(md)
		cv := md.CurrentVersion()
		if !slices.Equal(versions, []int64{1, 2}) || !slices.Equal(history, []int64{1, 2}) || cv.VersionID != 2 || cv.SchemaID != 1 ||
			cv.DefaultCatalog != "default" || !slices.Equal(cv.DefaultNamespace, ns) || !slices.Equal(sqls(cv), []string{"trino: select * from ns.tbl"}) {
			t.Fatalf("versions %v history %v current %s", versions, history, describe(cv))
		}
		// Only the SQL of a dialect changes, on the same schema.
		reqs, ups = replaceVersion(md, nil, viewVer(t, 3, 1, ns, "trino", "select * from ns.updated_tbl"))
		if _, err := cat.UpdateView(ctx, id, reqs, ups); err != nil {
			t.Fatalf("replace the SQL: %v", err)
		}
		md = loadView(t, id).Metadata()
		versions, _ = versionIDs(md)
		if !slices.Equal(versions, []int64{1, 2, 3}) || len(md.Schemas()) != 2 ||
			!slices.Equal(sqls(md.CurrentVersion()), []string{"trino: select * from ns.updated_tbl"}) {
			t.Fatalf("versions %v, %d schemas, current %s", versions, len(md.Schemas()), describe(md.CurrentVersion()))
		}
	})

	t.Run("UpdateProperties", func(t *testing.T) {
		id := ident(e.ns(t), "view")
		v := createView(t, id)
		_, err := cat.UpdateView(ctx, id, []view.Requirement{view.AssertViewUUID(v.Metadata().ViewUUID())}, []view.Update{
			view.NewSetPropertiesUpdate(iceberg.Properties{"key1": "val1", "key2": "val2"}),
			view.NewRemovePropertiesUpdate([]string{"non-existing"})})
		if err != nil {
			t.Fatal(err)
		}
		md := loadView(t, id).Metadata()
		wantProps(t, md.Properties(), map[string]string{"key1": "val1", "key2": "val2"}, nil)
		versions, history := versionIDs(md)
		if !slices.Equal(versions, []int64{1}) || !slices.Equal(history, []int64{1}) {
			t.Fatalf("a property change touched the versions: %v, history %v", versions, history)
		}
	})

	t.Run("Location", func(t *testing.T) {
		ns := e.ns(t)
		id := ident(ns, "view")
		loc := "file://" + t.TempDir() + "/ns/view"
		v, err := cat.CreateView(ctx, id, viewVer(t, 1, 0, ns, "trino", "select * from ns.tbl"), viewSchema, catalog.WithViewLocation(loc))
		if err != nil {
			t.Fatal(err)
		}
		if v.Metadata().Location() != loc {
			t.Fatalf("location %s, want %s", v.Metadata().Location(), loc)
		}
		updated := "file://" + t.TempDir() + "/updated/ns/view"
		_, err = cat.UpdateView(ctx, id, []view.Requirement{view.AssertViewUUID(v.Metadata().ViewUUID())},
			[]view.Update{view.NewSetLocationUpdate(updated)})
		if err != nil {
			t.Fatal(err)
		}
		md := loadView(t, id).Metadata()
		versions, history := versionIDs(md)
		if md.Location() != updated || !slices.Equal(versions, []int64{1}) || !slices.Equal(history, []int64{1}) {
			t.Fatalf("location %s versions %v history %v", md.Location(), versions, history)
		}
		// A replace that sets a location with the new version.
		again := "file://" + t.TempDir() + "/again"
		reqs, ups := replaceVersion(md, nil, viewVer(t, 2, 0, ns, "trino", "select * from ns.tbl"), view.NewSetLocationUpdate(again))
		if _, err := cat.UpdateView(ctx, id, reqs, ups); err != nil {
			t.Fatal(err)
		}
		if got := loadView(t, id).Metadata().Location(); got != again {
			t.Fatalf("location %s after the replace, want %s", got, again)
		}
	})

	// A change prepared on a view that is dropped before it commits finds
	// no view.
	t.Run("ChangeOfDroppedView", func(t *testing.T) {
		ns := e.ns(t)
		id := ident(ns, "view")
		v := createView(t, id)
		reqs, replace := replaceVersion(v.Metadata(), nil, viewVer(t, 2, 0, ns, "trino", "select * from ns.tbl"))
		if err := cat.DropView(ctx, id); err != nil {
			t.Fatal(err)
		}
		for what, ups := range map[string][]view.Update{
			"properties": {view.NewSetPropertiesUpdate(iceberg.Properties{"key1": "val1"})},
			"version":    replace,
			"location":   {view.NewSetLocationUpdate("file://" + t.TempDir())},
		} {
			_, err := cat.UpdateView(ctx, id, reqs, ups)
			wantErr(t, "change the "+what+" of a dropped view", err, catalog.ErrNoSuchView)
		}
		if viewExists(t, id) {
			t.Fatal("a change brought the dropped view back")
		}
	})

	t.Run("CreateConflict", func(t *testing.T) {
		id := ident(e.ns(t), "view")
		createView(t, id) // by another client, after this one decided to create
		_, err := cat.CreateView(ctx, id, viewVer(t, 1, 0, id[:1], "trino", "select * from ns.tbl"), viewSchema)
		wantErr(t, "create a view created meanwhile", err, catalog.ErrViewAlreadyExists)
	})

	// Two replaces prepared on the same version: the second commits on top
	// of the first, its version taking the next id.
	t.Run("ConcurrentReplaceVersion", func(t *testing.T) {
		ns := e.ns(t)
		id := ident(ns, "view")
		v, err := cat.CreateView(ctx, id, viewVer(t, 1, 0, ns, "trino", "select * from ns.tbl"), viewSchema,
			catalog.WithViewProperties(iceberg.Properties{"replace.drop-dialect.allowed": "true"}))
		if err != nil {
			t.Fatal(err)
		}
		base := v.Metadata()
		reqsTrino, upsTrino := replaceVersion(base, nil, viewVer(t, 2, 0, ns, "trino", "select count(id) from ns.tbl"))
		reqsSpark, upsSpark := replaceVersion(base, viewOtherSchema, viewVer(t, 2, 0, ns, "spark", "select count(some_id) from ns.tbl"))
		if _, err := cat.UpdateView(ctx, id, reqsSpark, upsSpark); err != nil {
			t.Fatal(err)
		}
		if _, err := cat.UpdateView(ctx, id, reqsTrino, upsTrino); err != nil {
			t.Fatalf("the second replace: %v", err)
		}
		md := loadView(t, id).Metadata()
		versions, _ := versionIDs(md)
		byID := map[int64]*view.Version{}
		for _, ver := range md.Versions() {
			byID[ver.VersionID] = ver
		}
		if !slices.Equal(versions, []int64{1, 2, 3}) || md.CurrentVersionID() != 3 ||
			byID[1].SchemaID != 0 || !slices.Equal(sqls(byID[1]), []string{"trino: select * from ns.tbl"}) ||
			byID[2].SchemaID != 1 || !slices.Equal(sqls(byID[2]), []string{"spark: select count(some_id) from ns.tbl"}) ||
			byID[3].SchemaID != 0 || !slices.Equal(sqls(byID[3]), []string{"trino: select count(id) from ns.tbl"}) {
			t.Fatalf("versions %s, current %d", describe(md.Versions()), md.CurrentVersionID())
		}
	})

	t.Run("DropNonEmptyNamespace", func(t *testing.T) {
		ns := e.ns(t)
		tbl, vw := ident(ns, "tbl"), ident(ns, "view")
		if _, err := cat.CreateTable(ctx, tbl, refSchema); err != nil {
			t.Fatal(err)
		}
		createView(t, vw)
		wantErr(t, "drop with a table and a view", cat.DropNamespace(ctx, ns), catalog.ErrNamespaceNotEmpty)
		if err := cat.DropTable(ctx, tbl); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "drop with a view", cat.DropNamespace(ctx, ns), catalog.ErrNamespaceNotEmpty)
		if err := cat.DropView(ctx, vw); err != nil {
			t.Fatal(err)
		}
		if err := cat.DropNamespace(ctx, ns); err != nil {
			t.Fatalf("drop the emptied namespace: %v", err)
		}
	})

	t.Run("RegisterTableOverView", func(t *testing.T) {
		id := ident(e.ns(t), "tbl")
		tbl, err := cat.CreateTable(ctx, id, refSchema)
		if err != nil {
			t.Fatal(err)
		}
		if err := cat.DropTable(ctx, id); err != nil {
			t.Fatal(err)
		}
		createView(t, id)
		_, err = cat.RegisterTable(ctx, id, tbl.MetadataLocation())
		wantErr(t, "register a table over a view", err, catalog.ErrTableAlreadyExists)
		if exists(t, cat, id) || !viewExists(t, id) {
			t.Fatal("the register replaced the view")
		}
	})

	t.Run("Register", func(t *testing.T) {
		ns := e.ns(t)
		id := ident(ns, "view")
		ver := viewVer(t, 1, 0, ns, "spark", "select * from ns.tbl")
		ver.DefaultCatalog = "test"
		orig, err := cat.CreateView(ctx, id, ver, viewSchema, catalog.WithViewProperties(iceberg.Properties{"gc.enabled": "false"}))
		if err != nil {
			t.Fatal(err)
		}
		if err := cat.DropView(ctx, id); err != nil || viewExists(t, id) {
			t.Fatalf("drop: %v", err)
		}
		if !fileExists(t, orig.MetadataLocation()) {
			t.Fatal("dropping the view deleted its metadata")
		}
		reg, err := cat.RegisterView(ctx, id, orig.MetadataLocation())
		if err != nil {
			t.Fatalf("register: %v", err)
		}
		if !viewExists(t, id) || !reg.Metadata().Equals(orig.Metadata()) || !loadView(t, id).Metadata().Equals(orig.Metadata()) {
			t.Fatal("the registered view differs from the original")
		}
		_, err = cat.RegisterView(ctx, id, orig.MetadataLocation())
		wantErr(t, "register over an existing view", err, catalog.ErrViewAlreadyExists)
		if err := cat.DropView(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := cat.CreateTable(ctx, id, refSchema); err != nil {
			t.Fatal(err)
		}
		_, err = cat.RegisterView(ctx, id, orig.MetadataLocation())
		wantErr(t, "register a view over a table", err, catalog.ErrViewAlreadyExists)
	})

	t.Run("WrongViewUUID", func(t *testing.T) {
		id := ident(e.ns(t), "view")
		createView(t, id)
		_, err := cat.UpdateView(ctx, id, []view.Requirement{view.AssertViewUUID(uuid.New())},
			[]view.Update{view.NewSetPropertiesUpdate(iceberg.Properties{"a": "b"})})
		wantErr(t, "change with another view's uuid", err, rest.ErrCommitFailed)
	})
}
