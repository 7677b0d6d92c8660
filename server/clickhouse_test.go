package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// The names the README's ClickHouse SQL uses; the tests put the real
// addresses and token in their place.
const (
	readmeCatalog = "http://catalog:5000"
	readmeS3      = "http://minio:9000"
	readmeToken   = "<token>"
)

// chEnv is a catalog on versitygw (bucket "lake", warehouse
// s3://lake/warehouse) with static vended keys, no anonymous access, a
// read-write and a read-only bearer token and an OAuth client.
type chEnv struct {
	cat    *testenv.Catalog
	api    *apiLog
	s3     *testenv.S3Server
	writer *rest.Catalog // iceberg-go, as the writer token
}

const (
	chWriterToken = "writer-token"
	chReaderToken = "reader-token"
	chOAuthSecret = "ch-secret"
)

func startClickHouseCatalog(t *testing.T, tokenTTL string) *chEnv {
	t.Helper()
	s3 := testenv.StartS3(t)
	s3.CreateBucket(t, "lake")
	sum := sha256.Sum256([]byte(chOAuthSecret))
	text := fmt.Sprintf(`addr: 127.0.0.1:0
debugAddr: 127.0.0.1:0
dataDir: %s
warehouse: s3://lake/warehouse
s3: {endpoint: %s, pathStyleAccess: true, region: %s, accessKeyID: %s, secretAccessKey: %s}
vendedCredentials: {staticKeys: true}
bearerTokens:
  - {name: writer, value: %s}
  - {name: reader, value: %s, accessConfig: {readOnly: true}}
oauth:
  tokenTTL: %s
  clients:
    - {id: clickhouse, secretHash: "sha256:%s"}
`, t.TempDir(), s3.Endpoint, s3.Region, s3.AccessKey, s3.SecretKey, chWriterToken, chReaderToken, tokenTTL, hex.EncodeToString(sum[:]))
	cfg, err := config.Parse([]byte(text), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c, api := startLoggedCatalog(t, cfg)
	w := testenv.Client(t, c.URL, rest.WithOAuthToken(chWriterToken),
		rest.WithHeaders(map[string]string{"X-Iceberg-Access-Delegation": "vended-credentials"}))
	return &chEnv{cat: c, api: api, s3: s3, writer: w}
}

// readmeSQL returns the statements of the README's ClickHouse SQL block with
// the env's addresses and token.
func (e *chEnv) readmeSQL(t *testing.T, token string) []string {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Connecting ClickHouse\n.*?```sql\n(.*?)```").FindSubmatch(raw)
	if m == nil {
		t.Fatal("README.md: no ```sql block under ## Connecting ClickHouse")
	}
	return e.sqlStatements(string(m[1]), token)
}

func (e *chEnv) sqlStatements(text, token string) []string {
	r := strings.NewReplacer(readmeCatalog, e.cat.URL, readmeS3, e.s3.Endpoint, readmeToken, token)
	var out []string
	for _, st := range strings.Split(r.Replace(text), ";\n") {
		var lines []string
		for _, l := range strings.Split(st, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "--") {
				lines = append(lines, l)
			}
		}
		if s := strings.TrimSpace(strings.Join(lines, "\n")); s != "" {
			out = append(out, strings.TrimSuffix(s, ";"))
		}
	}
	return out
}

func (e *chEnv) database(token string) string {
	return fmt.Sprintf("CREATE DATABASE ice ENGINE = DataLakeCatalog('%s/v1') SETTINGS catalog_type = 'rest', "+
		"warehouse = 's3://lake/warehouse', storage_endpoint = '%s/lake', auth_header = 'Authorization: Bearer %s'",
		e.cat.URL, e.s3.Endpoint, token)
}

func mustTable(t *testing.T, cat *rest.Catalog, ident table.Identifier) *table.Table {
	t.Helper()
	tbl, err := cat.LoadTable(context.Background(), ident)
	if err != nil {
		t.Fatalf("load %v: %v", ident, err)
	}
	return tbl
}

func str(v any) string { return fmt.Sprint(v) }

// TestClickHouse runs the newest ClickHouse against the catalog: the
// README's SQL, reads of tables iceberg-go wrote (flat and nested
// namespaces, partitioned, evolved schema, time travel), INSERT, CREATE
// TABLE (flat, nested, partitioned), ALTER ADD/DROP COLUMN and DROP TABLE;
// then iceberg-go reads everything ClickHouse wrote.
func TestClickHouse(t *testing.T) {
	ch := testenv.NewestClickHouse(t)
	e := startClickHouseCatalog(t, "1h")
	ctx := context.Background()
	for _, ns := range []table.Identifier{{"sales"}, {"sales", "eu"}} {
		if err := e.writer.CreateNamespace(ctx, ns, nil); err != nil {
			t.Fatal(err)
		}
	}
	spec := iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "region", Transform: iceberg.IdentityTransform{}})
	events, err := e.writer.CreateTable(ctx, table.Identifier{"sales", "events"}, eventSchema, catalog.WithPartitionSpec(&spec))
	if err != nil {
		t.Fatal(err)
	}
	if events, err = events.AppendTable(ctx, eventBatch(t, 0, 10), 100, nil); err != nil {
		t.Fatal(err)
	}
	first := *events.CurrentSnapshot()
	if events, err = events.AppendTable(ctx, eventBatch(t, 10, 10), 100, nil); err != nil {
		t.Fatal(err)
	}
	orders, err := e.writer.CreateTable(ctx, table.Identifier{"sales", "eu", "orders"}, eventSchema)
	if err != nil {
		t.Fatal(err)
	}
	if _, err = orders.AppendTable(ctx, eventBatch(t, 0, 4), 100, nil); err != nil {
		t.Fatal(err)
	}
	// Schema evolution by iceberg-go: region renamed to area, then a
	// column added (readers see null for old rows).
	evo, err := e.writer.CreateTable(ctx, table.Identifier{"sales", "evo"}, eventSchema)
	if err != nil {
		t.Fatal(err)
	}
	if evo, err = evo.AppendTable(ctx, eventBatch(t, 0, 2), 100, nil); err != nil {
		t.Fatal(err)
	}
	tx := evo.NewTransaction()
	if err := tx.UpdateSchema(true, false).RenameColumn([]string{"region"}, "area").AddColumn([]string{"score"}, iceberg.PrimitiveTypes.Int64, "", false, nil).Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err = tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	s := ch.NewSession(t)
	readme := e.readmeSQL(t, chWriterToken)
	keys := fmt.Sprintf("'%s', '%s'", e.s3.AccessKey, e.s3.SecretKey)
	steps := append(readme,
		"DESCRIBE ice.`sales.evo`",
		"SELECT id, area, score FROM ice.`sales.evo` ORDER BY id",
		fmt.Sprintf("SELECT count() AS n FROM ice.`sales.events` SETTINGS iceberg_snapshot_id = %d", first.SnapshotID),
		fmt.Sprintf("SELECT count() AS n FROM ice.`sales.events` SETTINGS iceberg_timestamp_ms = %d", first.TimestampMs),
		"SELECT count() AS n, min(id) AS lo FROM ice.`sales.eu.orders`",
		"SELECT count() AS n FROM ice.`sales.events` WHERE region = 'us' SETTINGS use_iceberg_partition_pruning = 1",
		"SELECT event, value FROM system.events WHERE event LIKE 'Iceberg%Prun%'",
		// CREATE TABLE in namespaces that do not exist yet: ClickHouse then
		// gets 200 for its namespace POST at once (docs/clients.md).
		"CREATE TABLE ice.`chflat.t1` (id Int64, s String) ENGINE = IcebergS3('"+e.s3.Endpoint+"/lake/warehouse/chflat/t1/', "+keys+")",
		"CREATE TABLE ice.`sales.chsub.t2` (id Int64) ENGINE = IcebergS3('"+e.s3.Endpoint+"/lake/warehouse/sales/chsub/t2/', "+keys+")",
		"CREATE TABLE ice.`chpart.p1` (id Int64, region String) ENGINE = IcebergS3('"+e.s3.Endpoint+"/lake/warehouse/chpart/p1/', "+keys+") PARTITION BY region",
		"INSERT INTO ice.`chflat.t1` SETTINGS allow_insert_into_iceberg = 1 VALUES (1, 'a'), (2, 'b')",
		"INSERT INTO ice.`sales.chsub.t2` SETTINGS allow_insert_into_iceberg = 1 VALUES (7)",
		"INSERT INTO ice.`chpart.p1` SETTINGS allow_insert_into_iceberg = 1 VALUES (1, 'eu'), (2, 'us'), (3, 'eu')",
		"ALTER TABLE ice.`chflat.t1` ADD COLUMN x Nullable(Int32) SETTINGS allow_insert_into_iceberg = 1",
		"ALTER TABLE ice.`chflat.t1` DROP COLUMN s SETTINGS allow_insert_into_iceberg = 1",
		"SELECT id, x FROM ice.`chflat.t1` ORDER BY id",
		"SELECT count() AS n FROM ice.`chpart.p1` WHERE region = 'eu'",
		"SELECT id FROM ice.`sales.chsub.t2`",
	)
	got := s.MustRun(t, steps...)
	n := len(readme)
	// README: SHOW TABLES, then the eu rows, then its INSERT.
	var names []string
	for _, r := range got[n-3] {
		names = append(names, str(r["name"]))
	}
	for _, want := range []string{"sales.events", "sales.eu.orders", "sales.evo"} {
		if !strings.Contains(strings.Join(names, ","), want) {
			t.Errorf("SHOW TABLES = %v, want %s among them", names, want)
		}
	}
	if r := got[n-2][0]; str(r["count()"]) != "10" || str(r["sum(id)"]) != "90" {
		t.Errorf("README SELECT = %v, want 10 rows summing to 90", r)
	}
	var cols []string
	for _, r := range got[n] {
		cols = append(cols, str(r["name"])+" "+str(r["type"]))
	}
	if strings.Join(cols, ",") != "id Int64,area String,score Nullable(Int64)" {
		t.Errorf("DESCRIBE sales.evo = %v", cols)
	}
	if rows := got[n+1]; len(rows) != 2 || str(rows[0]["area"]) != "eu" || rows[0]["score"] != nil {
		t.Errorf("evolved rows = %v, want 2 rows with area and a null score", rows)
	}
	if a, b := str(got[n+2][0]["n"]), str(got[n+3][0]["n"]); a != "10" || b != "10" {
		t.Errorf("time travel: by snapshot id %s rows, by timestamp %s rows; want 10 each", a, b)
	}
	if r := got[n+4][0]; str(r["n"]) != "4" || str(r["lo"]) != "0" {
		t.Errorf("nested namespace read = %v", r)
	}
	if str(got[n+5][0]["n"]) != "10" {
		t.Errorf("region = us rows = %v, want 10", got[n+5])
	}
	// Partition pruning in ClickHouse: the README's eu read skipped the 2
	// us files of the two appends; the us read, after the README's INSERT
	// (one more eu file), skipped the 3 eu files.
	if r := got[n+6]; len(r) != 1 || str(r[0]["value"]) != "5" {
		t.Errorf("IcebergPartitionPrunedFiles = %v, want 5", r)
	}
	if rows := got[n+15]; len(rows) != 2 || str(rows[0]["id"]) != "1" || rows[0]["x"] != nil {
		t.Errorf("after ALTER: %v", rows)
	}
	if str(got[n+16][0]["n"]) != "2" {
		t.Errorf("partitioned table written by ClickHouse, region = eu: %v", got[n+16])
	}
	if rows := got[n+17]; len(rows) != 1 || str(rows[0]["id"]) != "7" {
		t.Errorf("nested table written by ClickHouse: %v", rows)
	}

	// iceberg-go reads what ClickHouse wrote.
	if ids := readIDs(t, mustTable(t, e.writer, table.Identifier{"sales", "events"}), nil); len(ids) != 21 || ids[20] != 1000 {
		t.Errorf("iceberg-go after ClickHouse's INSERT: %v, want 0..19 and 1000", ids)
	}
	p1 := mustTable(t, e.writer, table.Identifier{"chpart", "p1"})
	if want := "s3://lake/warehouse/chpart/p1"; p1.Location() != want {
		t.Errorf("ClickHouse-created table at %s, want %s", p1.Location(), want)
	}
	if ids := readIDs(t, p1, iceberg.EqualTo(iceberg.Reference("region"), "eu")); len(ids) != 2 || ids[0] != 1 || ids[1] != 3 {
		t.Errorf("iceberg-go scan of ClickHouse's partitioned table, region = eu: %v", ids)
	}
	tasks, err := p1.Scan(table.WithRowFilter(iceberg.EqualTo(iceberg.Reference("region"), "us"))).PlanFiles(ctx)
	if err != nil || len(tasks) != 1 {
		t.Errorf("iceberg-go pruning on ClickHouse's partitions: %d files (%v), want 1", len(tasks), err)
	}
	t2 := mustTable(t, e.writer, table.Identifier{"sales", "chsub", "t2"})
	if want := "s3://lake/warehouse/sales/chsub/t2"; t2.Location() != want {
		t.Errorf("nested ClickHouse table at %s, want %s", t2.Location(), want)
	}
	t1 := mustTable(t, e.writer, table.Identifier{"chflat", "t1"})
	if f := t1.Schema().Fields(); len(f) != 2 || f[1].Name != "x" {
		t.Errorf("schema after ClickHouse's ALTERs: %v", t1.Schema())
	}
	if n := e.api.count("POST /v1/namespaces "); n != 3+2 { // 3 CREATE TABLEs, 2 by iceberg-go
		t.Errorf("namespace creates: %d, want 5 (no 409 retries)", n)
	}

	// DROP TABLE (purgeRequested=False): gone from the catalog, files kept.
	s.MustRun(t, "DROP TABLE ice.`chpart.p1`")
	if ok, _ := e.writer.CheckTableExists(ctx, table.Identifier{"chpart", "p1"}); ok {
		t.Error("chpart.p1 still exists after DROP TABLE")
	}
	if _, err := os.Stat(strings.Replace(p1.MetadataLocation(), "s3://", e.s3.Root+"/", 1)); err != nil {
		t.Errorf("DROP TABLE without purge removed the metadata file: %v", err)
	}
}

// TestClickHouseAuth: a read-only token can SELECT and its INSERT fails
// (the catalog answers 403); catalog_credential logs in
// through /v1/oauth/tokens and keeps working after its token expires.
func TestClickHouseAuth(t *testing.T) {
	ch := testenv.NewestClickHouse(t)
	e := startClickHouseCatalog(t, "2s")
	ctx := context.Background()
	if err := e.writer.CreateNamespace(ctx, table.Identifier{"a"}, nil); err != nil {
		t.Fatal(err)
	}
	tbl, err := e.writer.CreateTable(ctx, table.Identifier{"a", "t"}, eventSchema)
	if err != nil {
		t.Fatal(err)
	}
	if _, err = tbl.AppendTable(ctx, eventBatch(t, 0, 5), 100, nil); err != nil {
		t.Fatal(err)
	}
	ro := ch.NewSession(t)
	_, res := ro.Run(t,
		testenv.Step{SQL: "SET allow_experimental_database_iceberg = 1"},
		testenv.Step{SQL: e.database(chReaderToken)},
		testenv.Step{SQL: "SELECT count() AS n FROM ice.`a.t`"},
		testenv.Step{SQL: "INSERT INTO ice.`a.t` SETTINGS allow_insert_into_iceberg = 1 VALUES (99, 'eu')"},
	)
	if !res[2].OK || str(res[2].Rows[0]["n"]) != "5" {
		t.Errorf("read-only SELECT: %+v", res[2])
	}
	// ClickHouse 26.7 drops the catalog's answer to a failed commit
	// (RestCatalog::updateMetadata logs it at trace level and returns
	// false), so its error is generic; the catalog answered 403.
	if res[3].OK || !strings.Contains(res[3].Error, "Write into iceberg was not successful") {
		t.Errorf("read-only INSERT: %+v, want ClickHouse's failed-write error", res[3])
	}
	if n := e.api.count("POST /v1/namespaces/a/tables/t 403 "); n == 0 {
		t.Errorf("the read-only commit was not answered 403")
	}
	if ids := readIDs(t, mustTable(t, e.writer, table.Identifier{"a", "t"}), nil); len(ids) != 5 {
		t.Errorf("rows after the refused INSERT: %v", ids)
	}

	oa := ch.NewSession(t)
	got := oa.MustRun(t,
		"SET allow_experimental_database_iceberg = 1",
		fmt.Sprintf("CREATE DATABASE ice ENGINE = DataLakeCatalog('%s/v1') SETTINGS catalog_type = 'rest', warehouse = 's3://lake/warehouse', storage_endpoint = '%s/lake', catalog_credential = 'clickhouse:%s'", e.cat.URL, e.s3.Endpoint, chOAuthSecret),
		"SELECT count() AS n FROM ice.`a.t`",
		"SELECT sleep(3)", // the 2 s token expires
		"INSERT INTO ice.`a.t` SETTINGS allow_insert_into_iceberg = 1 VALUES (100, 'us')",
		"SELECT count() AS n FROM ice.`a.t`",
	)
	if str(got[2][0]["n"]) != "5" || str(got[5][0]["n"]) != "6" {
		t.Errorf("catalog_credential: counts %v then %v, want 5 then 6", got[2], got[5])
	}
	if n := e.api.count("POST /v1/oauth/tokens "); n < 2 {
		t.Errorf("token requests: %d, want a new token after expiry", n)
	}
}

// TestClickHouseConcurrentWriters: ClickHouse INSERTs from separate
// ClickHouse processes race iceberg-go appends into one table; every
// acknowledged write is in the table exactly once.
func TestClickHouseConcurrentWriters(t *testing.T) {
	ch := testenv.NewestClickHouse(t)
	e := startClickHouseCatalog(t, "1h")
	ctx := context.Background()
	if err := e.writer.CreateNamespace(ctx, table.Identifier{"c"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.writer.CreateTable(ctx, table.Identifier{"c", "t"}, eventSchema); err != nil {
		t.Fatal(err)
	}
	const chWriters, goWriters = 3, 2
	var wg sync.WaitGroup
	chOK := make([]bool, chWriters)
	chErr := make([]string, chWriters)
	for i := 0; i < chWriters; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, res := ch.NewSession(t).Run(t,
				testenv.Step{SQL: "SET allow_experimental_database_iceberg = 1"},
				testenv.Step{SQL: e.database(chWriterToken)},
				testenv.Step{SQL: fmt.Sprintf("INSERT INTO ice.`c.t` SETTINGS allow_insert_into_iceberg = 1 VALUES (%d, 'eu'), (%d, 'us')", 1000+2*i, 1001+2*i)},
			)
			chOK[i], chErr[i] = res[2].OK, res[2].Error
		}(i)
	}
	// Each iceberg-go writer appends goAppends batches, one after the
	// other, so the table keeps moving while ClickHouse commits.
	const goAppends = 3
	goOK := make([][goAppends]bool, goWriters)
	for i := 0; i < goWriters; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for k := 0; k < goAppends; k++ {
				for attempt := 0; attempt < 20; attempt++ {
					tbl, err := e.writer.LoadTable(ctx, table.Identifier{"c", "t"})
					if err == nil {
						if _, err = tbl.AppendTable(ctx, eventBatch(t, int64(i*100+k*10), 10), 100, nil); err == nil {
							goOK[i][k] = true
							break
						}
					}
				}
			}
		}(i)
	}
	wg.Wait()
	want := map[int64]bool{}
	for i := range goOK {
		for k, ok := range goOK[i] {
			if ok {
				for id := int64(i*100 + k*10); id < int64(i*100+k*10+10); id++ {
					want[id] = true
				}
			}
		}
	}
	acked := 0
	for i, ok := range chOK {
		if ok {
			acked++
			want[int64(1000+2*i)], want[int64(1001+2*i)] = true, true
		} else {
			t.Logf("ClickHouse INSERT %d failed: %s", i, chErr[i])
		}
	}
	ids := readIDs(t, mustTable(t, e.writer, table.Identifier{"c", "t"}), nil)
	seen := map[int64]int{}
	for _, id := range ids {
		seen[id]++
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("acknowledged id %d present %d times", id, seen[id])
		}
	}
	if len(ids) != len(want) {
		t.Errorf("table holds %d rows, %d acknowledged", len(ids), len(want))
	}
	chConflicts := 0
	for _, l := range e.api.all() {
		if strings.HasPrefix(l, "POST /v1/namespaces/c/tables/t 409 ") && strings.Contains(l, "[ClickHouse/") {
			chConflicts++
		}
	}
	t.Logf("ClickHouse INSERTs acknowledged: %d of %d; iceberg-go appends: %v; ClickHouse commits answered 409: %d",
		acked, chWriters, goOK, chConflicts)
	if acked == 0 {
		t.Error("no ClickHouse INSERT succeeded")
	}
}

// TestClickHouseComposeSQL runs examples/docker-compose/clickhouse.sql
// with a read-only token, as the example's config gives ClickHouse; the
// SQL passes its own S3 keys and turns vended credentials off.
func TestClickHouseComposeSQL(t *testing.T) {
	ch := testenv.NewestClickHouse(t)
	e := startClickHouseCatalog(t, "1h")
	ctx := context.Background()
	if err := e.writer.CreateNamespace(ctx, table.Identifier{"demo"}, nil); err != nil {
		t.Fatal(err)
	}
	tbl, err := e.writer.CreateTable(ctx, table.Identifier{"demo", "events"}, eventSchema)
	if err != nil {
		t.Fatal(err)
	}
	if _, err = tbl.AppendTable(ctx, eventBatch(t, 5, 10), 100, nil); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../examples/docker-compose/clickhouse.sql")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("http://lb:5000", e.cat.URL, "http://minio:9000", e.s3.Endpoint,
		"'minio', 'minio-secret'", fmt.Sprintf("'%s', '%s'", e.s3.AccessKey, e.s3.SecretKey),
		"clickhouse-token-change-me", chReaderToken).Replace(string(raw))
	got := ch.NewSession(t).MustRun(t, e.sqlStatements(text, chReaderToken)...)
	last := got[len(got)-1][0]
	if str(last["count()"]) != "10" || str(last["min(id)"]) != "5" || str(last["max(id)"]) != "14" {
		t.Fatalf("clickhouse.sql's SELECT = %v, want 10 rows, ids 5..14", last)
	}
}

// TestClickHouseVersions runs a read, an INSERT and iceberg-go's read of it
// on every installed ClickHouse (scripts/install-chdb.sh pins them).
func TestClickHouseVersions(t *testing.T) {
	for _, ch := range testenv.ClickHouses(t) {
		t.Run("chdb-"+ch.Chdb, func(t *testing.T) {
			e := startClickHouseCatalog(t, "1h")
			ctx := context.Background()
			if err := e.writer.CreateNamespace(ctx, table.Identifier{"v"}, nil); err != nil {
				t.Fatal(err)
			}
			tbl, err := e.writer.CreateTable(ctx, table.Identifier{"v", "t"}, eventSchema)
			if err != nil {
				t.Fatal(err)
			}
			if _, err = tbl.AppendTable(ctx, eventBatch(t, 0, 10), 100, nil); err != nil {
				t.Fatal(err)
			}
			version, res := ch.NewSession(t).Run(t,
				testenv.Step{SQL: "SET allow_experimental_database_iceberg = 1"},
				testenv.Step{SQL: e.database(chWriterToken)},
				testenv.Step{SQL: "SELECT count() AS n FROM ice.`v.t` WHERE region = 'us'"},
				testenv.Step{SQL: "INSERT INTO ice.`v.t` SETTINGS allow_insert_into_iceberg = 1 VALUES (50, 'us')"},
			)
			t.Logf("ClickHouse %s (chdb %s)", version, ch.Chdb)
			for i, r := range res {
				if !r.OK {
					t.Fatalf("step %d: %s", i, r.Error)
				}
			}
			if str(res[2].Rows[0]["n"]) != "5" {
				t.Errorf("us rows = %v, want 5", res[2].Rows)
			}
			if ids := readIDs(t, mustTable(t, e.writer, table.Identifier{"v", "t"}), nil); len(ids) != 11 || ids[10] != 50 {
				t.Errorf("iceberg-go after the INSERT: %v", ids)
			}
		})
	}
}

// TestClickHouseCreateTableInExistingNamespace pins down the one slow path
// left (docs/clients.md): ClickHouse 26.7 POSTs the table's namespace
// before CREATE TABLE; when it exists the catalog answers 409, as the spec
// says, and ClickHouse retries ten times (about 33 s) before it creates the
// table, which then works.
func TestClickHouseCreateTableInExistingNamespace(t *testing.T) {
	ch := testenv.NewestClickHouse(t)
	e := startClickHouseCatalog(t, "1h")
	if err := e.writer.CreateNamespace(context.Background(), table.Identifier{"x"}, nil); err != nil {
		t.Fatal(err)
	}
	got := ch.NewSession(t).MustRun(t,
		"SET allow_experimental_database_iceberg = 1",
		e.database(chWriterToken),
		"CREATE TABLE ice.`x.t` (id Int64) ENGINE = IcebergS3('"+e.s3.Endpoint+"/lake/warehouse/x/t/', '"+e.s3.AccessKey+"', '"+e.s3.SecretKey+"')",
		"INSERT INTO ice.`x.t` SETTINGS allow_insert_into_iceberg = 1 VALUES (1), (2)",
		"SELECT count() AS n FROM ice.`x.t`",
	)
	if str(got[4][0]["n"]) != "2" {
		t.Fatalf("count = %v, want 2", got[4])
	}
	if n := e.api.count("POST /v1/namespaces 409 "); n != 10 {
		t.Errorf("namespace POSTs answered 409: %d, want ClickHouse's 10 tries", n)
	}
	if want := "s3://lake/warehouse/x/t"; mustTable(t, e.writer, table.Identifier{"x", "t"}).Location() != want {
		t.Errorf("table not at %s", want)
	}
}

// TestClickHouseSTS: with STS credentials vended per table (MinIO),
// ClickHouse reads and INSERTs with the scoped keys from loadTable's
// config, and a read-only token's keys cannot write.
func TestClickHouseSTS(t *testing.T) {
	ch := testenv.NewestClickHouse(t)
	m, c := startSTSCatalog(t)
	ctx := context.Background()
	w := testenv.Client(t, c.URL, rest.WithOAuthToken(writerToken),
		rest.WithHeaders(map[string]string{"X-Iceberg-Access-Delegation": "vended-credentials"}))
	if err := w.CreateNamespace(ctx, table.Identifier{"ns"}, nil); err != nil {
		t.Fatal(err)
	}
	tbl, err := w.CreateTable(ctx, table.Identifier{"ns", "t"}, eventSchema)
	if err != nil {
		t.Fatal(err)
	}
	if _, err = tbl.AppendTable(ctx, eventBatch(t, 0, 6), 100, nil); err != nil {
		t.Fatal(err)
	}
	db := func(token string) string {
		return fmt.Sprintf("CREATE DATABASE ice ENGINE = DataLakeCatalog('%s/v1') SETTINGS catalog_type = 'rest', "+
			"warehouse = 's3://lake/cat', storage_endpoint = '%s/lake', auth_header = 'Authorization: Bearer %s'", c.URL, m.Endpoint, token)
	}
	got := ch.NewSession(t).MustRun(t,
		"SET allow_experimental_database_iceberg = 1",
		db(writerToken),
		"SELECT count() AS n FROM ice.`ns.t`",
		"INSERT INTO ice.`ns.t` SETTINGS allow_insert_into_iceberg = 1 VALUES (60, 'eu')",
		"SELECT count() AS n FROM ice.`ns.t`",
	)
	if str(got[2][0]["n"]) != "6" || str(got[4][0]["n"]) != "7" {
		t.Fatalf("with STS keys: counts %v then %v, want 6 then 7", got[2], got[4])
	}
	if ids := readIDs(t, mustTable(t, w, table.Identifier{"ns", "t"}), nil); len(ids) != 7 || ids[6] != 60 {
		t.Errorf("iceberg-go after ClickHouse's INSERT with STS keys: %v", ids)
	}
	_, res := ch.NewSession(t).Run(t,
		testenv.Step{SQL: "SET allow_experimental_database_iceberg = 1"},
		testenv.Step{SQL: db(readerToken)},
		testenv.Step{SQL: "SELECT count() AS n FROM ice.`ns.t`"},
		testenv.Step{SQL: "INSERT INTO ice.`ns.t` SETTINGS allow_insert_into_iceberg = 1 VALUES (61, 'eu')"},
	)
	if !res[2].OK || str(res[2].Rows[0]["n"]) != "7" {
		t.Errorf("read-only STS SELECT: %+v", res[2])
	}
	if res[3].OK {
		t.Errorf("read-only STS INSERT succeeded")
	} else {
		t.Logf("read-only STS INSERT: %s", res[3].Error)
	}
}
