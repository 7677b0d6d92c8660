package server_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// remoteS3 is an S3 client without keys: it has each request signed by
// the catalog's sign endpoint, as Iceberg's S3 signer clients do.
type remoteS3 struct {
	t        *testing.T
	signURL  string
	token    string
	endpoint string // S3 server, http://127.0.0.1:port
}

// do signs method on /bucket/key through the catalog and, if the catalog
// agrees, sends it to S3. It returns the sign endpoint's status, and the
// S3 status and body when signed.
func (c remoteS3) do(method, path string, body []byte) (signStatus, s3Status int, s3Body string) {
	c.t.Helper()
	headers := map[string][]string{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}
	if body != nil {
		headers["Content-Length"] = []string{itoa(len(body))}
	}
	code, signed := callAPI(c.t, "POST", c.signURL, c.token, map[string]any{
		"region": "us-east-1", "uri": c.endpoint + path, "method": method, "headers": headers,
	})
	if code != http.StatusOK {
		return code, 0, ""
	}
	req, err := http.NewRequest(method, signed["uri"].(string), bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, vs := range signed["headers"].(map[string]any) {
		for _, v := range vs.([]any) {
			req.Header.Add(k, v.(string))
		}
	}
	req.ContentLength = int64(len(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return code, resp.StatusCode, string(b)
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestRemoteSigningInsideTheTableOnly(t *testing.T) {
	s3 := testenv.StartS3(t)
	s3.CreateBucket(t, "lake")
	cfg := testenv.CatalogConfig(t)
	withTokens(cfg)
	cfg.Warehouse = "s3://lake/cat"
	cfg.S3 = config.S3{Endpoint: s3.Endpoint, PathStyleAccess: true, AccessKeyID: s3.AccessKey, SecretAccessKey: s3.SecretKey, Region: s3.Region}
	cfg.RemoteSigning.Enabled = true
	c := testenv.StartCatalog(t, cfg)
	createTables(t, c.URL, "t", "t2")

	code, body := callAPI(t, "GET", c.URL+"/v1/namespaces/ns/tables/t", writerToken, nil, "X-Iceberg-Access-Delegation", "remote-signing")
	if code != 200 {
		t.Fatalf("load with remote-signing: %d %v", code, body)
	}
	tcfg := body["config"].(map[string]any)
	if tcfg["s3.remote-signing-enabled"] != "true" || tcfg["s3.access-key-id"] != nil {
		t.Fatalf("table config = %v, want signing enabled and no keys", tcfg)
	}
	// Clients resolve the advertised endpoint against the catalog URI.
	ep, _ := tcfg["s3.signer.endpoint"].(string)
	if ep != "v1/namespaces/ns/tables/t/sign" {
		t.Fatalf("s3.signer.endpoint = %q", ep)
	}
	w := remoteS3{t: t, signURL: c.URL + "/" + ep, token: writerToken, endpoint: s3.Endpoint}

	if sc, st, b := w.do("PUT", "/lake/cat/ns/t/data/f.parquet", []byte("signed")); sc != 200 || st != 200 {
		t.Fatalf("PUT inside the table: sign %d, S3 %d %s", sc, st, b)
	}
	if sc, st, b := w.do("GET", "/lake/cat/ns/t/data/f.parquet", nil); sc != 200 || st != 200 || b != "signed" {
		t.Fatalf("GET inside the table: sign %d, S3 %d %q", sc, st, b)
	}
	for _, outside := range []string{"/lake/cat/ns/t2/data/f.parquet", "/lake/cat/ns/t/../t2/data/f.parquet", "/lake/cat/ns/t%2F..%2F..%2Ft2/f", "/lake/other"} {
		if sc, _, _ := w.do("PUT", outside, []byte("x")); sc != http.StatusForbidden {
			t.Errorf("PUT %s: sign endpoint answered %d, want 403", outside, sc)
		}
	}
	if sc, _, _ := w.do("GET", "/lake/cat/ns/t2/metadata/x.json", nil); sc != http.StatusForbidden {
		t.Errorf("GET another table's file: sign endpoint answered %d, want 403", sc)
	}

	// The legacy path finds the table from the key.
	legacy := remoteS3{t: t, signURL: c.URL + "/v1/aws/s3/sign", token: writerToken, endpoint: s3.Endpoint}
	if sc, st, b := legacy.do("GET", "/lake/cat/ns/t/data/f.parquet", nil); sc != 200 || st != 200 || b != "signed" {
		t.Fatalf("legacy GET inside the table: sign %d, S3 %d %q", sc, st, b)
	}
	if sc, _, _ := legacy.do("PUT", "/lake/cat/ns/nosuch/f", []byte("x")); sc != http.StatusForbidden {
		t.Errorf("legacy PUT outside every table: sign endpoint answered %d, want 403", sc)
	}

	// A read-only principal may have reads signed, not writes.
	r := remoteS3{t: t, signURL: c.URL + "/" + ep, token: readerToken, endpoint: s3.Endpoint}
	if sc, st, b := r.do("GET", "/lake/cat/ns/t/data/f.parquet", nil); sc != 200 || st != 200 || b != "signed" {
		t.Fatalf("read-only GET: sign %d, S3 %d %q", sc, st, b)
	}
	if sc, _, _ := r.do("PUT", "/lake/cat/ns/t/data/g.parquet", []byte("x")); sc != http.StatusForbidden {
		t.Errorf("read-only PUT: sign endpoint answered %d, want 403", sc)
	}
	// Nothing signed outside reached the store.
	if _, st, _ := w.do("GET", "/lake/cat/ns/t/data/g.parquet", nil); st != http.StatusNotFound {
		t.Errorf("object written by a refused request: S3 %d", st)
	}
}
