package rest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	awscreds "github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ice-rest-catalog/ice/auth"
	"github.com/ice-rest-catalog/ice/credentials"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/rest"
	"github.com/ice-rest-catalog/ice/service"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// newSigningAPI is newAPI with remote signing on, a writer and a reader.
func newSigningAPI(t *testing.T) *api {
	t.Helper()
	wh, err := warehouse.Open(context.Background(), warehouse.Config{Location: "file://" + filepath.Join(t.TempDir(), "wh")})
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(auth.Config{Tokens: []auth.Token{{Name: "w", Value: "w"}, {Name: "r", Value: "r", ReadOnly: true}}})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := credentials.NewSigner(credentials.SignerConfig{Credentials: awscreds.NewStaticCredentialsProvider("AK", "SK", ""), Endpoint: "http://s3.local"})
	if err != nil {
		t.Fatal(err)
	}
	h := rest.New(rest.Config{
		Service: service.New(service.Config{Store: etcd.NewStore(testenv.EtcdClient(t), "default"), Warehouse: wh, Log: testenv.DiscardLogger()}),
		Auth:    authn, Log: testenv.DiscardLogger(), Signer: signer,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &api{Server: srv, h: h}
}

func TestReadOnlyPrincipalsMaySignButNotCommit(t *testing.T) {
	a := newSigningAPI(t)
	w, r := []string{"Authorization", "Bearer w"}, []string{"Authorization", "Bearer r"}
	if got := a.do(t, "POST", "/v1/namespaces", `{"namespace":["db"]}`, w...); got.status != 200 {
		t.Fatalf("create namespace: %d %s", got.status, got.raw)
	}
	if got := a.do(t, "POST", "/v1/namespaces/db/tables", `{"name":"sign","schema":`+schema+`}`, w...); got.status != 200 {
		t.Fatalf("create table: %d %s", got.status, got.raw)
	}
	// The sign endpoint of table "sign" is reached: the table is in a
	// file:// warehouse, so there is nothing to sign (403 from the signer,
	// with a message that says so, not the read-only refusal).
	got := a.do(t, "POST", "/v1/namespaces/db/tables/sign/sign", `{"region":"us-east-1","uri":"http://s3.local/b/k","method":"GET","headers":{}}`, r...)
	wantError(t, got, http.StatusForbidden, "ForbiddenException")
	if msg := got.body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "not in S3") {
		t.Errorf("read-only sign refused by %q, want the signer's refusal", msg)
	}
	if got := a.do(t, "POST", "/v1/namespaces/db/tables/nosuch/sign", `{"region":"us-east-1","uri":"http://s3.local/b/k","method":"GET","headers":{}}`, r...); got.status != http.StatusNotFound {
		t.Errorf("read-only sign for a missing table: %d %s, want 404 from the handler", got.status, got.raw)
	}
	// A commit to a table named "sign" is still a write.
	got = a.do(t, "POST", "/v1/namespaces/db/tables/sign", `{"requirements":[],"updates":[]}`, r...)
	wantError(t, got, http.StatusForbidden, "ForbiddenException")

	// A file:// table gets no signing settings.
	got = a.do(t, "GET", "/v1/namespaces/db/tables/sign", "", append(w, "X-Iceberg-Access-Delegation", "remote-signing")...)
	if cfg := got.body["config"].(map[string]any); cfg["s3.remote-signing-enabled"] != nil {
		t.Errorf("file:// table advertised remote signing: %v", cfg)
	}
	// /v1/config advertises the sign endpoint only when signing is on.
	eps := a.do(t, "GET", "/v1/config", "", w...).body["endpoints"].([]any)
	if !slices.Contains(eps, any("POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/sign")) {
		t.Errorf("sign endpoint not advertised: %v", eps)
	}
	plain := newAPI(t, anonymousRW())
	if eps := plain.do(t, "GET", "/v1/config", "").body["endpoints"].([]any); slices.Contains(eps, any("POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/sign")) {
		t.Errorf("sign endpoint advertised with signing off")
	}
	if got := plain.do(t, "POST", "/v1/aws/s3/sign", `{}`); got.status != http.StatusNotFound {
		t.Errorf("legacy sign path with signing off: %d", got.status)
	}
}
