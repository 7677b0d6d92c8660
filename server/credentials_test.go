package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// writerToken may write; readerToken (admin_test.go) may only read.
const writerToken = "writer-secret"

func withTokens(cfg *config.Config) {
	cfg.AnonymousAccess.Enabled = false
	cfg.BearerTokens = []config.Token{
		{Name: "writer", Value: writerToken},
		{Name: "reader", Value: readerToken, AccessConfig: config.AccessConfig{ReadOnly: true}},
	}
}

// api sends one request to the catalog and decodes a JSON answer.
func callAPI(t *testing.T, method, url, token string, body any, headers ...string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func createTables(t *testing.T, catURL string, names ...string) {
	t.Helper()
	if code, body := callAPI(t, "POST", catURL+"/v1/namespaces", writerToken, map[string]any{"namespace": []string{"ns"}}); code != 200 {
		t.Fatalf("create namespace: %d %v", code, body)
	}
	schema := map[string]any{"type": "struct", "schema-id": 0, "fields": []any{map[string]any{"id": 1, "name": "id", "type": "long", "required": true}}}
	for _, n := range names {
		if code, body := callAPI(t, "POST", catURL+"/v1/namespaces/ns/tables", writerToken, map[string]any{"name": n, "schema": schema}); code != 200 {
			t.Fatalf("create table %s: %d %v", n, code, body)
		}
	}
}

// vendedS3 loads table ns.<name> asking for vended credentials and returns
// an S3 client that holds only those.
func vendedS3(t *testing.T, catURL, token, name, endpoint string) (*s3.Client, map[string]any) {
	t.Helper()
	code, body := callAPI(t, "GET", catURL+"/v1/namespaces/ns/tables/"+name, token, nil, "X-Iceberg-Access-Delegation", "vended-credentials")
	if code != 200 {
		t.Fatalf("load %s: %d %v", name, code, body)
	}
	creds, _ := body["storage-credentials"].([]any)
	if len(creds) != 1 {
		t.Fatalf("load %s: storage-credentials = %v, want one", name, body["storage-credentials"])
	}
	c := creds[0].(map[string]any)
	if want := "s3://lake/cat/ns/" + name; c["prefix"] != want {
		t.Fatalf("credential prefix = %v, want %s", c["prefix"], want)
	}
	cfg := c["config"].(map[string]any)
	for _, k := range []string{"s3.access-key-id", "s3.secret-access-key", "s3.session-token", "s3.session-token-expires-at-ms"} {
		if s, _ := cfg[k].(string); s == "" {
			t.Fatalf("vended config lacks %s: %v", k, cfg)
		}
	}
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: awscreds.NewStaticCredentialsProvider(cfg["s3.access-key-id"].(string), cfg["s3.secret-access-key"].(string), cfg["s3.session-token"].(string)),
	})
	return client, cfg
}

func isAccessDenied(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied"
}

func putObject(ctx context.Context, c *s3.Client, key, data string) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lake"), Key: aws.String(key), Body: strings.NewReader(data)})
	return err
}

func getObject(ctx context.Context, c *s3.Client, key string) (string, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lake"), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

func startSTSCatalog(t *testing.T) (*testenv.MinIO, *testenv.Catalog) {
	m := testenv.StartMinIO(t)
	m.CreateBucket(t, "lake")
	cfg := testenv.CatalogConfig(t)
	withTokens(cfg)
	cfg.Warehouse = "s3://lake/cat"
	cfg.S3 = config.S3{Endpoint: m.Endpoint, PathStyleAccess: true, AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey, Region: m.Region}
	// MinIO ignores the role: credentials inherit the caller's rights,
	// narrowed by the session policy.
	cfg.VendedCredentials.STS = config.STS{Endpoint: m.Endpoint, RoleARN: "arn:minio:iam:::role/ice-test", DurationSeconds: 900}
	return m, testenv.StartCatalog(t, cfg)
}

func TestVendedCredentialsAreScopedToTheTable(t *testing.T) {
	ctx := context.Background()
	m, c := startSTSCatalog(t)
	createTables(t, c.URL, "t", "t2")

	w, wcfg := vendedS3(t, c.URL, writerToken, "t", m.Endpoint)
	if err := putObject(ctx, w, "cat/ns/t/data/f.parquet", "own"); err != nil {
		t.Fatalf("write inside the table's prefix: %v", err)
	}
	if got, err := getObject(ctx, w, "cat/ns/t/data/f.parquet"); err != nil || got != "own" {
		t.Fatalf("read inside the table's prefix: %q, %v", got, err)
	}
	if _, err := w.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("lake"), Prefix: aws.String("cat/ns/t/")}); err != nil {
		t.Fatalf("list the table's prefix: %v", err)
	}
	if err := putObject(ctx, w, "cat/ns/t2/data/f.parquet", "intruder"); !isAccessDenied(err) {
		t.Fatalf("write into another table's prefix: err = %v, want AccessDenied", err)
	}
	if _, err := getObject(ctx, w, "cat/ns/t2/metadata/00000-x.metadata.json"); !isAccessDenied(err) {
		t.Fatalf("read another table's prefix: err = %v, want AccessDenied", err)
	}
	if _, err := w.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("lake"), Prefix: aws.String("cat/ns/")}); !isAccessDenied(err) {
		t.Fatalf("list the namespace: err = %v, want AccessDenied", err)
	}

	r, _ := vendedS3(t, c.URL, readerToken, "t", m.Endpoint)
	if got, err := getObject(ctx, r, "cat/ns/t/data/f.parquet"); err != nil || got != "own" {
		t.Fatalf("read-only credential reading its table: %q, %v", got, err)
	}
	if err := putObject(ctx, r, "cat/ns/t/data/g.parquet", "x"); !isAccessDenied(err) {
		t.Fatalf("read-only credential writing: err = %v, want AccessDenied", err)
	}
	if _, err := r.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("lake"), Key: aws.String("cat/ns/t/data/f.parquet")}); !isAccessDenied(err) {
		t.Fatalf("read-only credential deleting: err = %v, want AccessDenied", err)
	}

	// A second load is served from the cache: the same keys, no STS call.
	_, again := vendedS3(t, c.URL, writerToken, "t", m.Endpoint)
	if again["s3.access-key-id"] != wcfg["s3.access-key-id"] {
		t.Errorf("second load vended new keys %v, want the cached %v", again["s3.access-key-id"], wcfg["s3.access-key-id"])
	}
	// The keys are part of the body, so the ETag follows them: while the
	// cache holds the same keys, a client's copy is current.
	etag := func(inm string) (int, string) {
		req, _ := http.NewRequest("GET", c.URL+"/v1/namespaces/ns/tables/t", nil)
		req.Header.Set("Authorization", "Bearer "+writerToken)
		req.Header.Set("X-Iceberg-Access-Delegation", "vended-credentials")
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("ETag")
	}
	if _, tag := etag(""); tag == "" {
		t.Error("vended load has no ETag")
	} else if code, _ := etag(tag); code != http.StatusNotModified {
		t.Errorf("If-None-Match with the current ETag: %d, want 304", code)
	}
	// The credentials endpoint vends the same, without the header.
	code, body := callAPI(t, "GET", c.URL+"/v1/namespaces/ns/tables/t/credentials", writerToken, nil)
	if sc, _ := body["storage-credentials"].([]any); code != 200 || len(sc) != 1 ||
		sc[0].(map[string]any)["config"].(map[string]any)["s3.access-key-id"] != wcfg["s3.access-key-id"] {
		t.Errorf("credentials endpoint: %d %v", code, body)
	}
	// createTable vends for the new table's prefix.
	code, body = callAPI(t, "POST", c.URL+"/v1/namespaces/ns/tables", writerToken,
		map[string]any{"name": "t3", "schema": map[string]any{"type": "struct", "schema-id": 0, "fields": []any{}}},
		"X-Iceberg-Access-Delegation", "vended-credentials")
	if sc, _ := body["storage-credentials"].([]any); code != 200 || len(sc) != 1 || sc[0].(map[string]any)["prefix"] != "s3://lake/cat/ns/t3" {
		t.Errorf("createTable with vended-credentials: %d %v", code, body["storage-credentials"])
	}
	// Without the header, nothing is vended.
	if _, body := callAPI(t, "GET", c.URL+"/v1/namespaces/ns/tables/t", writerToken, nil); body["storage-credentials"] != nil ||
		body["config"].(map[string]any)["s3.access-key-id"] != nil {
		t.Errorf("keys vended without X-Iceberg-Access-Delegation: %v", body["config"])
	}
}

// TestIcebergGoWritesWithVendedCredentialsOnly runs the end-to-end flow
// with a client that has no storage keys of its own: every data and
// metadata file it writes goes through the keys loadTable vends.
func TestIcebergGoWritesWithVendedCredentialsOnly(t *testing.T) {
	_, c := startSTSCatalog(t)
	runEndToEnd(t, testenv.Client(t, c.URL, rest.WithOAuthToken(writerToken),
		rest.WithHeaders(map[string]string{"X-Iceberg-Access-Delegation": "vended-credentials"})))
}
