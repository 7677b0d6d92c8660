-- Run inside the clickhouse container:
--   docker compose exec clickhouse clickhouse-client --queries-file /sql/ice.sql
-- Proven with ClickHouse 26.7 by TestClickHouseComposeSQL (server/clickhouse_test.go),
-- which runs this file with the example's read-only token.
-- The catalog's base URL ends in /v1: ClickHouse appends config, namespaces, ...
-- The two arguments after it are the S3 keys ClickHouse reads the table files
-- with: this catalog vends no keys (no vendedCredentials in its config).
-- The clickhouse token is read-only: SELECT works, INSERT is refused.
SET allow_experimental_database_iceberg = 1;

CREATE DATABASE IF NOT EXISTS ice
ENGINE = DataLakeCatalog('http://lb:5000/v1', 'minio', 'minio-secret')
SETTINGS catalog_type = 'rest',
         warehouse = 's3://lake/warehouse',
         storage_endpoint = 'http://minio:9000/lake',
         vended_credentials = false,
         auth_header = 'Authorization: Bearer clickhouse-token-change-me';

-- Every table of the catalog, as `namespace.table`.
SHOW TABLES FROM ice;

-- A table written by any Iceberg client (see README.md), e.g. demo.events:
SELECT count(), min(id), max(id) FROM ice.`demo.events`;
