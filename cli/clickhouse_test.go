package cli_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// TestClickHouseWithIceInsert: ClickHouse (chDB) reads a table that
// `ice insert` loaded, with the S3 keys in its own settings (the catalog
// vends none), INSERTs into it, and `ice scan` then reads ClickHouse's rows:
// the commit normalised ClickHouse's manifests (docs/clients.md).
func TestClickHouseWithIceInsert(t *testing.T) {
	ch := testenv.NewestClickHouse(t)
	e := startS3Catalog(t)
	e.ok(t, "create-namespace", "logs")
	e.put(t, "input", "events/a.parquet", parquetBytes(t, rows(0, 20, day1, "eu", "us")))
	e.ok(t, "insert", "logs.events", "-p", "s3://input/events/a.parquet")

	s := ch.NewSession(t)
	db := fmt.Sprintf("CREATE DATABASE ice ENGINE = DataLakeCatalog('%s/v1', '%s', '%s') "+
		"SETTINGS catalog_type = 'rest', warehouse = 's3://warehouse/prefix', storage_endpoint = '%s/warehouse', vended_credentials = false",
		e.URL, e.S3.AccessKey, e.S3.SecretKey, e.S3.Endpoint)
	got := s.MustRun(t,
		"SET allow_experimental_database_iceberg = 1",
		db,
		"SELECT count() AS n, sum(id) AS s FROM ice.`logs.events` WHERE region = 'eu'",
		"INSERT INTO ice.`logs.events` (id, region, ts, value) SETTINGS allow_insert_into_iceberg = 1 VALUES (100, 'eu', '2025-03-01 05:00:00', 1.5), (101, 'us', '2025-03-01 06:00:00', 2.5)",
		"SELECT count() AS n FROM ice.`logs.events`",
	)
	if r := got[2][0]; fmt.Sprint(r["n"]) != "10" || fmt.Sprint(r["s"]) != "90" {
		t.Fatalf("ClickHouse read of the eu rows = %v, want 10 rows summing to 90", r)
	}
	if n := fmt.Sprint(got[4][0]["n"]); n != "22" {
		t.Fatalf("ClickHouse count after its INSERT = %s, want 22", n)
	}
	want := append(seq(0, 20), 100, 101)
	if ids := e.scanIDs(t, "logs.events"); !slices.Equal(ids, want) {
		t.Fatalf("ice scan after ClickHouse's INSERT = %v, want %v", ids, want)
	}
}
