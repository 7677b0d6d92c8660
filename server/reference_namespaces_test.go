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
)

// TestReferenceNamespaces: namespaces, their properties and nesting, as
// Iceberg's CatalogTests expect of any catalog.
func TestReferenceNamespaces(t *testing.T) {
	e := newRefEnv(t)
	ctx := context.Background()
	cat := e.cat

	nsExists := func(t *testing.T, ns table.Identifier) bool {
		t.Helper()
		ok, err := cat.CheckNamespaceExists(ctx, ns)
		if err != nil {
			t.Fatalf("namespace %v exists: %v", ns, err)
		}
		return ok
	}
	props := func(t *testing.T, ns table.Identifier) iceberg.Properties {
		t.Helper()
		p, err := cat.LoadNamespaceProperties(ctx, ns)
		if err != nil {
			t.Fatalf("load namespace %v: %v", ns, err)
		}
		return p
	}

	t.Run("CreateThenExistsAndListed", func(t *testing.T) {
		ns := table.Identifier{"ref_create"}
		if nsExists(t, ns) {
			t.Fatal("namespace exists before its creation")
		}
		_, err := cat.LoadNamespaceProperties(ctx, ns)
		wantErr(t, "load a missing namespace", err, catalog.ErrNoSuchNamespace)
		if err := cat.CreateNamespace(ctx, ns, nil); err != nil {
			t.Fatal(err)
		}
		if !nsExists(t, ns) || !slices.ContainsFunc(listNS(t, cat, nil), func(s string) bool { return s == "ref_create" }) {
			t.Fatal("created namespace neither exists nor is listed")
		}
		if props(t, ns) == nil {
			t.Fatal("a namespace's properties are a map, even when empty")
		}
		// A second create is refused and changes nothing.
		wantErr(t, "create it again", cat.CreateNamespace(ctx, ns, nil), catalog.ErrNamespaceAlreadyExists)
		if !nsExists(t, ns) {
			t.Fatal("namespace gone after a refused create")
		}
	})

	t.Run("Properties", func(t *testing.T) {
		ns := table.Identifier{"ref_props"}
		if err := cat.CreateNamespace(ctx, ns, iceberg.Properties{"prop": "val"}); err != nil {
			t.Fatal(err)
		}
		wantProps(t, props(t, ns), map[string]string{"prop": "val"}, nil)
		update := func(removals []string, updates iceberg.Properties) {
			t.Helper()
			if _, err := cat.UpdateNamespaceProperties(ctx, ns, removals, updates); err != nil {
				t.Fatalf("update properties: %v", err)
			}
		}
		update(nil, iceberg.Properties{"owner": "user", "created-at": "sometime"})
		wantProps(t, props(t, ns), map[string]string{"prop": "val", "owner": "user", "created-at": "sometime"}, nil)
		update(nil, iceberg.Properties{"owner": "newuser", "last-modified-at": "now"})
		wantProps(t, props(t, ns), map[string]string{"owner": "newuser", "last-modified-at": "now"}, nil)
		update([]string{"created-at"}, nil)
		wantProps(t, props(t, ns), map[string]string{"owner": "newuser"}, []string{"created-at"})

		missing := table.Identifier{"ref_props_missing"}
		_, err := cat.UpdateNamespaceProperties(ctx, missing, nil, iceberg.Properties{"test": "value"})
		wantErr(t, "set properties of a missing namespace", err, catalog.ErrNoSuchNamespace)
		_, err = cat.UpdateNamespaceProperties(ctx, missing, []string{"a", "b"}, nil)
		wantErr(t, "remove properties of a missing namespace", err, catalog.ErrNoSuchNamespace)
	})

	t.Run("Drop", func(t *testing.T) {
		ns := table.Identifier{"ref_drop"}
		if err := cat.CreateNamespace(ctx, ns, nil); err != nil {
			t.Fatal(err)
		}
		if err := cat.DropNamespace(ctx, ns); err != nil {
			t.Fatalf("drop: %v", err)
		}
		if nsExists(t, ns) {
			t.Fatal("dropped namespace still exists")
		}
		// Dropping what does not exist is a 404, which clients turn into "false".
		wantErr(t, "drop a missing namespace", cat.DropNamespace(ctx, ns), catalog.ErrNoSuchNamespace)
	})

	t.Run("DropNonEmpty", func(t *testing.T) {
		ns := table.Identifier{"ref_drop_nonempty"}
		if err := cat.CreateNamespace(ctx, ns, nil); err != nil {
			t.Fatal(err)
		}
		id := ident(ns, "t")
		if _, err := cat.CreateTable(ctx, id, refSchema); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "drop a namespace holding a table", cat.DropNamespace(ctx, ns), catalog.ErrNamespaceNotEmpty)
		if err := cat.DropTable(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := cat.DropNamespace(ctx, ns); err != nil {
			t.Fatalf("drop the emptied namespace: %v", err)
		}
	})

	t.Run("DropWithNested", func(t *testing.T) {
		parent, child := table.Identifier{"ref_parent"}, table.Identifier{"ref_parent", "child"}
		for _, ns := range []table.Identifier{parent, child} {
			if err := cat.CreateNamespace(ctx, ns, nil); err != nil {
				t.Fatal(err)
			}
		}
		wantErr(t, "drop a namespace holding a namespace", cat.DropNamespace(ctx, parent), catalog.ErrNamespaceNotEmpty)
		if !nsExists(t, parent) || !nsExists(t, child) {
			t.Fatal("a refused drop removed a namespace")
		}
		for _, ns := range []table.Identifier{child, parent} {
			if err := cat.DropNamespace(ctx, ns); err != nil {
				t.Fatalf("drop %v: %v", ns, err)
			}
			if nsExists(t, ns) {
				t.Fatalf("%v still exists", ns)
			}
		}
	})

	t.Run("List", func(t *testing.T) {
		starting := listNS(t, cat, nil)
		ns1, ns2 := table.Identifier{"ref_list_1"}, table.Identifier{"ref_list_2"}
		with := func(extra ...string) []string { return sorted(append(slices.Clone(starting), extra...)) }
		if err := cat.CreateNamespace(ctx, ns1, nil); err != nil {
			t.Fatal(err)
		}
		wantList(t, listNS(t, cat, nil), with("ref_list_1"))
		if err := cat.CreateNamespace(ctx, ns2, nil); err != nil {
			t.Fatal(err)
		}
		wantList(t, listNS(t, cat, nil), with("ref_list_1", "ref_list_2"))
		if err := cat.DropNamespace(ctx, ns1); err != nil {
			t.Fatal(err)
		}
		wantList(t, listNS(t, cat, nil), with("ref_list_2"))
		if err := cat.DropNamespace(ctx, ns2); err != nil {
			t.Fatal(err)
		}
		wantList(t, listNS(t, cat, nil), with())
	})

	t.Run("ListNested", func(t *testing.T) {
		starting := listNS(t, cat, nil)
		parent := table.Identifier{"ref_nest"}
		c1, c2 := ident(parent, "child1"), ident(parent, "child2")
		if err := cat.CreateNamespace(ctx, parent, nil); err != nil {
			t.Fatal(err)
		}
		wantList(t, listNS(t, cat, nil), sorted(append(slices.Clone(starting), "ref_nest")))
		wantList(t, listNS(t, cat, parent), nil)
		if err := cat.CreateNamespace(ctx, c1, nil); err != nil {
			t.Fatal(err)
		}
		wantList(t, listNS(t, cat, parent), []string{"ref_nest.child1"})
		if err := cat.CreateNamespace(ctx, c2, nil); err != nil {
			t.Fatal(err)
		}
		wantList(t, listNS(t, cat, parent), []string{"ref_nest.child1", "ref_nest.child2"})
		// Listing the root shows the parent only, not its children.
		wantList(t, listNS(t, cat, nil), sorted(append(slices.Clone(starting), "ref_nest")))
		if err := cat.DropNamespace(ctx, c1); err != nil {
			t.Fatal(err)
		}
		wantList(t, listNS(t, cat, parent), []string{"ref_nest.child2"})
		if err := cat.DropNamespace(ctx, c2); err != nil {
			t.Fatal(err)
		}
		wantList(t, listNS(t, cat, parent), nil)
	})

	t.Run("ListChildrenOfMissing", func(t *testing.T) {
		_, err := cat.ListNamespaces(ctx, table.Identifier{"ref_non_existing"})
		wantErr(t, "list the children of a missing namespace", err, catalog.ErrNoSuchNamespace)
	})

	t.Run("DottedNamespaceIsNested", func(t *testing.T) {
		parent := e.ns(t)
		dotted := table.Identifier{strings.Join(append(slices.Clone(parent), "inner"), ".")}
		if err := cat.CreateNamespace(ctx, dotted, nil); err != nil {
			t.Fatalf("create %v: %v", dotted, err)
		}
		if got := listNS(t, cat, parent); !slices.Contains(got, strings.Join(append(slices.Clone(parent), "inner"), ".")) {
			t.Fatalf("children of %v = %v, want its child inner", parent, got)
		}
		wantErr(t, "create it again as levels", cat.CreateNamespace(ctx, append(slices.Clone(parent), "inner"), nil), catalog.ErrNamespaceAlreadyExists)
	})

	t.Run("EmptyNamespaceRejected", func(t *testing.T) {
		// The REST path cannot name the empty namespace; creating it is
		// a bad request, not a namespace nobody can address.
		if code, _ := e.errorOf(t, "POST", "/v1/namespaces", map[string]any{"namespace": []string{}}); code != 400 {
			t.Fatalf("create the empty namespace: %d, want 400", code)
		}
	})

	// Iceberg allows '.' and '/' inside a name; this catalog refuses both
	// (400), by design: its etcd keys, shared with the Java ice-rest-catalog,
	// use them as separators. Iceberg's own REST compatibility kit makes both
	// optional. What matters is a clear refusal that creates nothing. The
	// one exception is a namespace of one dotted element, ["new.db"]: as no
	// level can hold a dot, it can only mean the nested new.db, which is how
	// ClickHouse sends it (docs/clients.md); see DottedNamespaceIsNested.
	t.Run("NamesWithDotOrSlashRefused", func(t *testing.T) {
		for _, name := range []string{"new/db"} {
			wantErr(t, "create namespace "+name, cat.CreateNamespace(ctx, table.Identifier{name}, nil), rest.ErrBadRequest)
			if slices.Contains(listNS(t, cat, nil), name) {
				t.Fatalf("namespace %q listed after a refused create", name)
			}
		}
		ns := e.ns(t)
		for _, name := range []string{"ta.ble"} { // iceberg-go itself refuses a "/" in a table name
			_, err := cat.CreateTable(ctx, ident(ns, name), refSchema)
			wantErr(t, "create table "+name, err, rest.ErrBadRequest)
		}
		if got := listTableNames(t, cat, ns); len(got) != 0 {
			t.Fatalf("tables %v after refused creates", got)
		}
	})
}

// refFreshSchema is refSchema with the ids the catalog assigns.
var refFreshSchema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int32, Required: true, Doc: "unique ID 🤪"},
	iceberg.NestedField{ID: 2, Name: "data", Type: iceberg.PrimitiveTypes.String, Required: true},
)

func listNS(t *testing.T, cat *rest.Catalog, parent table.Identifier) []string {
	t.Helper()
	got, err := cat.ListNamespaces(context.Background(), parent)
	if err != nil {
		t.Fatalf("list namespaces under %v: %v", parent, err)
	}
	var out []string
	for _, ns := range got {
		out = append(out, strings.Join(ns, "."))
	}
	return sorted(out)
}

func listTableNames(t *testing.T, cat *rest.Catalog, ns table.Identifier) []string {
	t.Helper()
	var out []string
	for id, err := range cat.ListTables(context.Background(), ns) {
		if err != nil {
			t.Fatalf("list tables of %v: %v", ns, err)
		}
		out = append(out, id[len(id)-1])
	}
	return sorted(out)
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}

func wantList(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, sorted(slices.Clone(want))) {
		t.Fatalf("listed %v, want %v", got, want)
	}
}

func wantProps(t *testing.T, got iceberg.Properties, want map[string]string, absent []string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("properties %v: %s = %q, want %q", got, k, got[k], v)
		}
	}
	for _, k := range absent {
		if _, ok := got[k]; ok {
			t.Fatalf("properties %v still hold %s", got, k)
		}
	}
}
