package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ice-rest-catalog/ice/cli"
	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// commandTimeout bounds one CLI invocation in tests.
const commandTimeout = 60 * time.Second

// iceEnv is a running catalog and the config file that points the CLI at it.
type iceEnv struct {
	URL    string
	Config string // path of the .ice.yaml written for the CLI
	S3     *testenv.S3Server
}

// startFileCatalog starts a catalog on an embedded etcd with a file://
// warehouse.
func startFileCatalog(t *testing.T) *iceEnv {
	t.Helper()
	c := testenv.StartCatalog(t, testenv.CatalogConfig(t))
	return &iceEnv{URL: c.URL, Config: writeConfig(t, "uri: "+c.URL+"\n")}
}

// startS3Catalog starts versitygw with the buckets "warehouse" and "input"
// and a catalog whose warehouse is s3://warehouse/prefix; the CLI config
// has the same S3 keys.
func startS3Catalog(t *testing.T) *iceEnv {
	t.Helper()
	s3s := testenv.StartS3(t)
	s3s.CreateBucket(t, "warehouse")
	s3s.CreateBucket(t, "input")
	cfg := testenv.CatalogConfig(t)
	cfg.Warehouse = "s3://warehouse/prefix"
	cfg.S3 = config.S3{Endpoint: s3s.Endpoint, PathStyleAccess: true, AccessKeyID: s3s.AccessKey, SecretAccessKey: s3s.SecretKey, Region: s3s.Region}
	c := testenv.StartCatalog(t, cfg)
	text := "uri: " + c.URL + "\ns3:\n  endpoint: " + s3s.Endpoint + "\n  pathStyleAccess: true\n  accessKeyID: " + s3s.AccessKey +
		"\n  secretAccessKey: " + s3s.SecretKey + "\n  region: " + s3s.Region + "\n"
	return &iceEnv{URL: c.URL, Config: writeConfig(t, text), S3: s3s}
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ice.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type result struct {
	Code           int
	Stdout, Stderr string
}

// ice runs one CLI command with the env's config, with no environment
// variables (so the developer's ICE_* settings cannot leak in).
func (e *iceEnv) ice(t *testing.T, args ...string) result {
	t.Helper()
	return runIce(t, nil, append([]string{"-c", e.Config}, args...)...)
}

func runIce(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	var out, errb bytes.Buffer
	code := cli.Main(ctx, args, cli.Env{
		Stdin: bytes.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(string) string { return "" },
	})
	return result{Code: code, Stdout: out.String(), Stderr: errb.String()}
}

// ok runs a command that must succeed and returns its stdout.
func (e *iceEnv) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := e.ice(t, args...)
	if r.Code != 0 {
		t.Fatalf("ice %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// fails runs a command that must fail with exit code 1 and returns stderr.
func (e *iceEnv) fails(t *testing.T, args ...string) string {
	t.Helper()
	r := e.ice(t, args...)
	if r.Code != 1 {
		t.Fatalf("ice %s: exit %d, want 1\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stderr
}

func decodeJSON(t *testing.T, text string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(text), v); err != nil {
		t.Fatalf("decode %q: %v", text, err)
	}
}

// row is one generated row of the test data set.
type row struct {
	ID     int64
	Region string
	TS     time.Time
	Value  float64
}

var dataSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "region", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
}, nil)

// rows makes n rows with ids from..from+n-1, in region(s) cycling over
// regions, one hour apart from day.
func rows(from, n int64, day time.Time, regions ...string) []row {
	out := make([]row, n)
	for i := range out {
		id := from + int64(i)
		out[i] = row{ID: id, Region: regions[int(id)%len(regions)], TS: day.Add(time.Duration(i%24) * time.Hour), Value: float64(id) / 2}
	}
	return out
}

func parquetBytes(t testing.TB, rs []row) []byte {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, dataSchema)
	defer b.Release()
	for _, r := range rs {
		b.Field(0).(*array.Int64Builder).Append(r.ID)
		b.Field(1).(*array.StringBuilder).Append(r.Region)
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(r.TS.UnixMicro()))
		b.Field(3).(*array.Float64Builder).Append(r.Value)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return writeRecord(t, rec)
}

func writeRecord(t testing.TB, rec arrow.RecordBatch) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeParquet writes rows to dir/name and returns the path.
func writeParquet(t testing.TB, dir, name string, rs []row) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, parquetBytes(t, rs), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// badParquet has an "id" column of strings, which an int64 id table cannot take.
func badParquet(t *testing.T, dir string) string {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append("not a number")
	rec := b.NewRecordBatch()
	defer rec.Release()
	p := filepath.Join(dir, "bad.parquet")
	if err := os.WriteFile(p, writeRecord(t, rec), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// s3Client is an AWS SDK client on the test S3 server, to upload inputs
// and to list what the CLI wrote.
func (e *iceEnv) s3Client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(e.S3.Endpoint), UsePathStyle: true, Region: e.S3.Region,
		Credentials: credentials.NewStaticCredentialsProvider(e.S3.AccessKey, e.S3.SecretKey, ""),
	})
}

func (e *iceEnv) put(t testing.TB, bucket, key string, body []byte) {
	t.Helper()
	_, err := e.s3Client().PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

func (e *iceEnv) list(t *testing.T, bucket, prefix string) []string {
	t.Helper()
	out, err := e.s3Client().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	if err != nil {
		t.Fatalf("list s3://%s/%s: %v", bucket, prefix, err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// writeExtraColumn writes a file with the table's id plus a column "extra".
func writeExtraColumn(t *testing.T, dir string) string {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "extra", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(1)
	b.Field(1).(*array.StringBuilder).Append("x")
	rec := b.NewRecordBatch()
	defer rec.Release()
	p := filepath.Join(dir, "extra.parquet")
	if err := os.WriteFile(p, writeRecord(t, rec), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
