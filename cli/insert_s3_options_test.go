package cli_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// TestInsertS3CopyObject: --s3-copy-object copies an s3:// input into the
// table's bucket with an S3 server-side copy (versitygw's CopyObject): the
// copy has the input's bytes and the rows are read back. It cannot copy a
// local file, nor a file whose rows must be split or sorted.
func TestInsertS3CopyObject(t *testing.T) {
	e := startS3Catalog(t)
	body := parquetBytes(t, rows(0, 20, day1, "eu"))
	e.put(t, "input", "in/a.parquet", body)
	e.ok(t, "insert", "-p", "db.t", "--s3-copy-object", "s3://input/in/a.parquet")
	files := e.files(t, "db.t")
	if len(files) != 1 || !strings.HasPrefix(files[0].Path, "s3://warehouse/prefix/db/t/data/") {
		t.Fatalf("files = %+v", files)
	}
	key := strings.TrimPrefix(files[0].Path, "s3://warehouse/")
	out, err := e.s3Client().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("warehouse"), Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	if aws.ToInt64(out.ContentLength) != int64(len(body)) {
		t.Fatalf("copy has %d bytes, input %d", aws.ToInt64(out.ContentLength), len(body))
	}
	if ids := e.scanIDs(t, "db.t"); !slices.Equal(ids, seq(0, 20)) {
		t.Fatalf("rows = %v", ids)
	}
	local := writeParquet(t, t.TempDir(), "local.parquet", rows(100, 1, day1, "eu"))
	if msg := e.fails(t, "insert", "db.t", "--s3-copy-object", local); !strings.Contains(msg, "between s3:// buckets") {
		t.Fatalf("local file: %s", msg)
	}
	e.put(t, "input", "in/mixed.parquet", parquetBytes(t, rows(200, 4, day1, "eu", "us")))
	e.ok(t, "insert", "-p", "db.p", "s3://input/in/a.parquet", "--partition", `[{"column":"region"}]`)
	if msg := e.fails(t, "insert", "db.p", "--s3-copy-object", "s3://input/in/mixed.parquet"); !strings.Contains(msg, "cannot add as is") {
		t.Fatalf("a file to split: %s", msg)
	}
	if r := e.ice(t, "insert", "db.t", "--s3-copy-object", "--s3-no-sign-request", "s3://input/in/a.parquet"); r.Code != 2 {
		t.Fatalf("--s3-copy-object with --s3-no-sign-request: exit %d", r.Code)
	}
}

// TestInsertS3InputAccess: --s3-region and --s3-no-sign-request change how
// s3:// inputs are requested (versitygw checks the region of a signature
// and refuses an unsigned request to a private bucket), and
// --use-vended-credentials reads inputs with the keys the catalog vends
// for the table when the config has none.
func TestInsertS3InputAccess(t *testing.T) {
	s3s := testenv.StartS3(t)
	s3s.CreateBucket(t, "warehouse")
	s3s.CreateBucket(t, "input")
	cfg := testenv.CatalogConfig(t)
	cfg.Warehouse = "s3://warehouse/prefix"
	cfg.S3 = config.S3{Endpoint: s3s.Endpoint, PathStyleAccess: true, AccessKeyID: s3s.AccessKey, SecretAccessKey: s3s.SecretKey, Region: s3s.Region}
	cfg.VendedCredentials.StaticKeys = true
	c := testenv.StartCatalog(t, cfg)
	withKeys := "uri: " + c.URL + "\ns3:\n  endpoint: " + s3s.Endpoint + "\n  pathStyleAccess: true\n  accessKeyID: " + s3s.AccessKey +
		"\n  secretAccessKey: " + s3s.SecretKey + "\n  region: " + s3s.Region + "\n"
	e := &iceEnv{URL: c.URL, Config: writeConfig(t, withKeys), S3: s3s}
	e.put(t, "input", "a.parquet", parquetBytes(t, rows(0, 3, day1, "eu")))
	e.put(t, "input", "b.parquet", parquetBytes(t, rows(10, 3, day1, "eu")))
	e.put(t, "input", "c.parquet", parquetBytes(t, rows(20, 3, day1, "eu")))
	e.ok(t, "insert", "-p", "db.t", "s3://input/a.parquet")

	msg := e.fails(t, "insert", "db.t", "--s3-region", "eu-west-3", "s3://input/b.parquet")
	if !strings.Contains(msg, "s3://input/b.parquet") || !strings.Contains(msg, "StatusCode: 40") {
		t.Fatalf("--s3-region of another region: %s", msg)
	}
	t.Logf("--s3-region eu-west-3: %s", msg)
	e.ok(t, "insert", "db.t", "--s3-region", s3s.Region, "s3://input/b.parquet")
	msg = e.fails(t, "insert", "db.t", "--s3-no-sign-request", "s3://input/c.parquet")
	if !strings.Contains(msg, "s3://input/c.parquet") || !strings.Contains(msg, "StatusCode: 40") {
		t.Fatalf("--s3-no-sign-request on a private bucket: %s", msg)
	}
	t.Logf("--s3-no-sign-request: %s", msg)
	// A public bucket (a policy that lets anyone read) is read unsigned.
	s3s.CreateBucket(t, "public")
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:ListBucket"],` +
		`"Resource":["arn:aws:s3:::public","arn:aws:s3:::public/*"]}]}`
	if _, err := e.s3Client().PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: aws.String("public"), Policy: &policy}); err != nil {
		t.Fatal(err)
	}
	e.put(t, "public", "open/d.parquet", parquetBytes(t, rows(30, 3, day1, "eu")))
	e.ok(t, "insert", "db.t", "--s3-no-sign-request", "s3://public/open/*.parquet")
	// create-table and describe-parquet take the flag too.
	if out := e.ok(t, "describe-parquet", "--s3-no-sign-request", "s3://public/open/d.parquet"); !strings.Contains(out, "rows: 3") {
		t.Fatalf("describe-parquet --s3-no-sign-request: %s", out)
	}
	e.ok(t, "create-table", "db.fromPublic", "--s3-no-sign-request", "--schema-from-parquet", "s3://public/open/d.parquet")
	if msg := e.fails(t, "describe-parquet", "--s3-no-sign-request", "s3://input/c.parquet"); !strings.Contains(msg, "StatusCode: 403") {
		t.Fatalf("describe-parquet --s3-no-sign-request of a private object: %s", msg)
	}

	// A config without S3 keys: the table's files are reachable through
	// the vended keys (iceberg-go asks for them), the input only with
	// --use-vended-credentials.
	noKeys := &iceEnv{URL: c.URL, S3: s3s, Config: writeConfig(t, "uri: "+c.URL+"\ns3:\n  endpoint: "+s3s.Endpoint+
		"\n  pathStyleAccess: true\n  region: "+s3s.Region+"\n")}
	if r := noKeys.ice(t, "insert", "db.t", "--s3-no-sign-request", "s3://input/c.parquet"); r.Code == 0 {
		t.Fatal("an unsigned read of a private bucket succeeded")
	}
	noKeys.ok(t, "insert", "db.t", "--use-vended-credentials", "s3://input/c.parquet")
	if ids := e.scanIDs(t, "db.t"); !slices.Equal(ids, []int64{0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32}) {
		t.Fatalf("rows = %v", ids)
	}
	if msg := noKeys.fails(t, "insert", "db.missing", "--use-vended-credentials", "s3://input/c.parquet"); !strings.Contains(msg, "the table must exist") {
		t.Fatalf("vended credentials of a missing table: %s", msg)
	}
}
