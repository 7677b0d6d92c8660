package cli_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

var day1 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

type describedTable struct {
	Table            string `json:"table"`
	Location         string `json:"location"`
	MetadataLocation string `json:"metadataLocation"`
	Schema           []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"schema"`
	PartitionSpec []struct {
		Name      string `json:"name"`
		Column    string `json:"column"`
		Transform string `json:"transform"`
	} `json:"partitionSpec"`
	SortOrder []struct {
		Column string `json:"column"`
		Desc   bool   `json:"desc"`
	} `json:"sortOrder"`
	Properties      map[string]string `json:"properties"`
	CurrentSnapshot *struct {
		ID int64 `json:"id"`
	} `json:"currentSnapshot"`
}

type listedFile struct {
	Path      string         `json:"path"`
	Records   int64          `json:"records"`
	Partition map[string]any `json:"partition"`
}

func (e *iceEnv) describe(t *testing.T, name string) describedTable {
	t.Helper()
	var d describedTable
	decodeJSON(t, e.ok(t, "describe", name, "--json"), &d)
	return d
}

func (e *iceEnv) files(t *testing.T, name string) []listedFile {
	t.Helper()
	var fs []listedFile
	decodeJSON(t, e.ok(t, "files", name, "--json"), &fs)
	return fs
}

func (e *iceEnv) scanIDs(t *testing.T, name string) []int64 {
	t.Helper()
	var rs []struct {
		ID int64 `json:"id"`
	}
	decodeJSON(t, e.ok(t, "scan", name, "--limit", "1000", "--json"), &rs)
	ids := make([]int64, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	slices.Sort(ids)
	return ids
}

func seq(from, n int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = from + int64(i)
	}
	return out
}

// TestCommands runs every command but insert's S3 paths against a catalog
// with a file:// warehouse, in the order a user would.
func TestCommands(t *testing.T) {
	e := startFileCatalog(t)
	dir := t.TempDir()
	eu := writeParquet(t, dir, "eu.parquet", rows(0, 10, day1, "eu"))              // one partition: copied as is
	mixed := writeParquet(t, dir, "mixed.parquet", rows(10, 10, day1, "eu", "us")) // two: split

	if out := e.ok(t, "check"); strings.TrimSpace(out) != "OK" {
		t.Fatalf("check printed %q", out)
	}

	// Namespaces.
	e.ok(t, "create-namespace", "sales")
	if msg := e.fails(t, "create-namespace", "sales"); !strings.Contains(msg, "exists") {
		t.Fatalf("second create-namespace: %s", msg)
	}
	e.ok(t, "create-namespace", "sales", "-p")
	e.ok(t, "create-namespace", "sales.archive")
	var nss []string
	decodeJSON(t, e.ok(t, "list-namespaces", "--json"), &nss)
	if !slices.Equal(nss, []string{"sales"}) {
		t.Fatalf("list-namespaces = %v", nss)
	}
	decodeJSON(t, e.ok(t, "list-namespaces", "sales", "--json"), &nss)
	if !slices.Equal(nss, []string{"sales.archive"}) {
		t.Fatalf("list-namespaces sales = %v", nss)
	}

	// describe-parquet reads the footer.
	var pq struct {
		Rows    int64 `json:"rows"`
		Columns []struct {
			Name string `json:"name"`
		} `json:"columns"`
	}
	decodeJSON(t, e.ok(t, "describe-parquet", mixed, "--json", "-a"), &pq)
	if pq.Rows != 10 || len(pq.Columns) != 4 || pq.Columns[0].Name != "id" {
		t.Fatalf("describe-parquet = %+v", pq)
	}

	// create-table with a partition spec and a sort order.
	e.ok(t, "create-table", "sales.orders", "--schema-from-parquet", eu,
		"--partition", `[{"column":"region"}]`, "--sort", `[{"column":"id","desc":true}]`)
	d := e.describe(t, "sales.orders")
	if len(d.Schema) != 4 || d.Schema[0].Name != "id" || d.Schema[0].Type != "long" {
		t.Fatalf("schema = %+v", d.Schema)
	}
	if len(d.PartitionSpec) != 1 || d.PartitionSpec[0].Column != "region" || d.PartitionSpec[0].Transform != "identity" {
		t.Fatalf("partition spec = %+v", d.PartitionSpec)
	}
	if len(d.SortOrder) != 1 || d.SortOrder[0].Column != "id" || !d.SortOrder[0].Desc {
		t.Fatalf("sort order = %+v", d.SortOrder)
	}
	if d.CurrentSnapshot != nil {
		t.Fatalf("new table has a snapshot")
	}
	var tables []string
	decodeJSON(t, e.ok(t, "list-tables", "sales", "--json"), &tables)
	if !slices.Equal(tables, []string{"sales.orders"}) {
		t.Fatalf("list-tables = %v", tables)
	}

	// insert: one file lies in one partition and is copied, the other
	// spans two and is split; all in one snapshot.
	e.ok(t, "insert", "sales.orders", eu, mixed)
	files := e.files(t, "sales.orders")
	if len(files) != 3 {
		t.Fatalf("files after insert = %+v, want 3 (1 copy + 2 split)", files)
	}
	for _, f := range files {
		if !strings.HasPrefix(f.Path, d.Location+"/data/") {
			t.Fatalf("data file %s is outside the table's data location %s", f.Path, d.Location)
		}
		if f.Partition["region"] != "eu" && f.Partition["region"] != "us" {
			t.Fatalf("file %s has partition %v", f.Path, f.Partition)
		}
	}
	var snaps []struct {
		Operation string `json:"operation"`
		Current   bool   `json:"current"`
	}
	decodeJSON(t, e.ok(t, "list-snapshots", "sales.orders", "--json"), &snaps)
	if len(snaps) != 1 || snaps[0].Operation != "append" || !snaps[0].Current {
		t.Fatalf("list-snapshots = %+v, want one current append", snaps)
	}
	var parts []struct {
		Partition map[string]any `json:"partition"`
		Files     int            `json:"files"`
		Records   int64          `json:"records"`
	}
	decodeJSON(t, e.ok(t, "list-partitions", "sales.orders", "--json"), &parts)
	if len(parts) != 2 || parts[0].Partition["region"] != "eu" || parts[0].Records != 15 || parts[1].Records != 5 {
		t.Fatalf("list-partitions = %+v, want eu:15 rows, us:5 rows", parts)
	}
	if ids := e.scanIDs(t, "sales.orders"); !slices.Equal(ids, seq(0, 20)) {
		t.Fatalf("scan ids = %v", ids)
	}
	var limited []map[string]any
	decodeJSON(t, e.ok(t, "scan", "sales.orders", "--limit", "3", "--json"), &limited)
	if len(limited) != 3 {
		t.Fatalf("scan --limit 3 returned %d rows", len(limited))
	}
	// The default output is YAML.
	var asYAML []map[string]any
	if err := yaml.Unmarshal([]byte(e.ok(t, "scan", "sales.orders", "--limit", "2")), &asYAML); err != nil || len(asYAML) != 2 {
		t.Fatalf("scan YAML: %v, %v", asYAML, err)
	}

	// The same file again is a duplicate.
	if msg := e.fails(t, "insert", "sales.orders", eu); !strings.Contains(msg, "already referenced") {
		t.Fatalf("duplicate insert: %s", msg)
	}
	e.ok(t, "insert", "sales.orders", eu, mixed, "--skip-duplicates")
	if n := len(e.files(t, "sales.orders")); n != 3 {
		t.Fatalf("--skip-duplicates added files: %d", n)
	}

	// --files-from.
	more := writeParquet(t, dir, "more.parquet", rows(20, 4, day1, "eu"))
	list := filepath.Join(dir, "list.txt")
	if err := os.WriteFile(list, []byte(more+"\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.ok(t, "insert", "sales.orders", "--files-from", list)
	if ids := e.scanIDs(t, "sales.orders"); !slices.Equal(ids, seq(0, 24)) {
		t.Fatalf("scan after --files-from = %v", ids)
	}

	// The list can come from stdin too; these files are all in already.
	if r := runIce(t, []byte(more+"\n"+eu+"\n"), "-c", e.Config, "insert", "sales.orders", "-", "--skip-duplicates"); r.Code != 0 ||
		!strings.Contains(r.Stderr, "nothing to insert") {
		t.Fatalf("insert - from stdin: %+v", r)
	}

	// alter-table.
	e.ok(t, "alter-table", "sales.orders", `[{"op":"add_column","name":"note","type":"string"},
		{"op":"rename_column","name":"value","new_name":"amount"},
		{"op":"set_tblproperty","key":"owner","value":"cli-test"}]`)
	d = e.describe(t, "sales.orders")
	var names []string
	for _, c := range d.Schema {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"id", "region", "ts", "amount", "note"}) || d.Properties["owner"] != "cli-test" {
		t.Fatalf("after alter-table: columns %v, properties %v", names, d.Properties)
	}
	e.ok(t, "alter-table", "sales.orders", `[{"op":"drop_column","name":"note"},{"op":"set_tblproperty","key":"owner","value":null}]`)
	d = e.describe(t, "sales.orders")
	if len(d.Schema) != 4 || d.Properties["owner"] != "" {
		t.Fatalf("after drop_column: %+v", d)
	}
	if r := e.ice(t, "alter-table", "sales.orders", `[{"op":"explode"}]`); r.Code != 2 || !strings.Contains(r.Stderr, "unsupported op") {
		t.Fatalf("bad op: %+v", r)
	}

	// delete: a dry run by default, then for real.
	filesBefore := e.files(t, "sales.orders")
	out := e.ok(t, "delete", "sales.orders", "--partition", `[{"name":"region","values":["us"]}]`)
	if !strings.Contains(out, "dryRun: true") || !strings.Contains(out, ".parquet") {
		t.Fatalf("dry run printed %q", out)
	}
	if n := len(e.files(t, "sales.orders")); n != len(filesBefore) {
		t.Fatalf("dry run deleted files")
	}
	e.ok(t, "delete", "sales.orders", "--partition", `[{"name":"region","values":["us"]}]`, "--dry-run=false")
	for _, f := range e.files(t, "sales.orders") {
		if f.Partition["region"] != "eu" {
			t.Fatalf("file of region %v survived the delete", f.Partition["region"])
		}
	}
	if ids := e.scanIDs(t, "sales.orders"); len(ids) != 19 { // 24 rows, 5 of them in us
		t.Fatalf("rows after delete = %v", ids)
	}

	// describe at each level, and describe-metadata of the current file.
	var nsInfo struct {
		Namespace string   `json:"namespace"`
		Tables    []string `json:"tables"`
	}
	decodeJSON(t, e.ok(t, "describe", "sales", "--json"), &nsInfo)
	if nsInfo.Namespace != "sales" || !slices.Equal(nsInfo.Tables, []string{"sales.orders"}) {
		t.Fatalf("describe sales = %+v", nsInfo)
	}
	var all []struct {
		Namespace string `json:"namespace"`
	}
	decodeJSON(t, e.ok(t, "describe", "--json"), &all)
	if len(all) != 2 {
		t.Fatalf("describe = %+v, want 2 namespaces", all)
	}
	d = e.describe(t, "sales.orders")
	var md struct {
		Location  string `json:"location"`
		Snapshots []any  `json:"snapshots"`
	}
	decodeJSON(t, e.ok(t, "describe-metadata", d.MetadataLocation, "--json"), &md)
	if md.Location != d.Location || len(md.Snapshots) != 3 { // insert, insert, delete
		t.Fatalf("describe-metadata = %+v", md)
	}

	// --partition on insert into an empty, unpartitioned table sets its spec.
	e.ok(t, "create-table", "sales.late", "--schema-from-parquet", eu)
	e.ok(t, "insert", "sales.late", mixed, "--partition", `[{"column":"region"}]`)
	if d := e.describe(t, "sales.late"); len(d.PartitionSpec) != 1 || d.PartitionSpec[0].Name != "region" {
		t.Fatalf("spec after insert --partition: %+v", d.PartitionSpec)
	}
	if n := len(e.files(t, "sales.late")); n != 2 {
		t.Fatalf("sales.late has %d files, want 2 (one per region)", n)
	}
	// --no-copy of a local file into a file:// table keeps it in place; a
	// file spanning two partitions cannot be added without a split.
	inPlace := writeParquet(t, dir, "inplace.parquet", rows(50, 2, day1, "us"))
	e.ok(t, "insert", "sales.late", "--no-copy", inPlace)
	var found bool
	for _, f := range e.files(t, "sales.late") {
		found = found || f.Path == "file://"+inPlace
	}
	if !found {
		t.Fatalf("file added with --no-copy is not at file://%s: %+v", inPlace, e.files(t, "sales.late"))
	}
	twoRegions := writeParquet(t, dir, "two.parquet", rows(60, 2, day1, "eu", "us"))
	if msg := e.fails(t, "insert", "sales.late", "--no-copy", twoRegions); !strings.Contains(msg, "more than one value") {
		t.Fatalf("--no-copy of a file spanning partitions: %s", msg)
	}
	if msg := e.fails(t, "insert", "sales.late", more, "--partition", `[{"column":"id","transform":"bucket[4]"}]`); !strings.Contains(msg, "has data") {
		t.Fatalf("changing the spec of a table with data: %s", msg)
	}
	e.ok(t, "delete-table", "sales.late")

	// Deleting.
	if msg := e.fails(t, "delete-namespace", "sales"); !strings.Contains(msg, "not empty") {
		t.Fatalf("delete of a non-empty namespace: %s", msg)
	}
	e.ok(t, "delete-table", "sales.orders", "--purge")
	e.fails(t, "delete-table", "sales.orders")
	e.ok(t, "delete-table", "sales.orders", "-p")
	e.ok(t, "delete-namespace", "sales.archive")
	e.ok(t, "delete-namespace", "sales")
	e.fails(t, "delete-namespace", "sales")
	e.ok(t, "delete-namespace", "sales", "-p")
	decodeJSON(t, e.ok(t, "list-namespaces", "--json"), &nss)
	if len(nss) != 0 {
		t.Fatalf("namespaces left: %v", nss)
	}
	if _, err := os.Stat(strings.TrimPrefix(d.Location, "file://")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("purged table directory still present: %v", err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"no-such-command"},
		{"insert"},
		{"create-table", "ns.t"}, // no --schema-from-parquet
		{"list-tables"},
		{"scan", "not-a-table-name"},
		{"--log-level", "loud", "check"},
	} {
		if r := runIce(t, nil, args...); r.Code != 2 {
			t.Errorf("ice %q: exit %d, want 2; stderr: %s", args, r.Code, r.Stderr)
		}
	}
	if r := runIce(t, nil, "-h"); r.Code != 0 || !strings.Contains(r.Stderr, "insert") {
		t.Errorf("ice -h: %+v", r)
	}
}
