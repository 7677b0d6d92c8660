package server_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// A real OIDC issuer on loopback (discovery and JWKS); the catalog maps the
// token's subject and groups to a principal that the rules then govern.
func TestOIDCPrincipalsAndRules(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var idp *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": idp.URL, "jwks_uri": idp.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		enc := base64.RawURLEncoding
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "k1", "alg": "RS256",
			"n": enc.EncodeToString(key.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(key.E)).Bytes())}}})
	})
	idp = httptest.NewServer(mux)
	defer idp.Close()

	base, logs := startWithLog(t, `
oidc: {issuer: "`+idp.URL+`", audience: ice, subjectClaim: email, groupsClaim: realm_access.roles}
authorization:
  rules:
    - {principals: ["oidc:admin@example.com"], access: admin}
    - {principals: ["group:analysts"], namespaces: [sales], access: read}
    - {principals: ["group:engineers"], namespaces: [sales], access: write}
`)
	token := func(email string, aud string, roles ...string) string {
		c := jwt.MapClaims{"iss": idp.URL, "aud": aud, "sub": "id-" + email, "email": email,
			"exp": time.Now().Add(time.Hour).Unix(), "realm_access": map[string]any{"roles": roles}}
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	admin := token("admin@example.com", "ice")
	analyst := token("ann@example.com", "ice", "analysts")
	engineer := token("eng@example.com", "ice", "engineers", "analysts")
	ns := base + "/v1/namespaces"

	if st, b := call(t, "POST", ns, admin, map[string]any{"namespace": []string{"sales"}}); st != 200 {
		t.Fatalf("admin: %d %v", st, b)
	}
	if st, b := call(t, "POST", ns, engineer, map[string]any{"namespace": []string{"sales", "eu"}}); st != 200 {
		t.Fatalf("engineer in sales: %d %v", st, b)
	}
	if st, b := call(t, "GET", ns+"/sales%1Feu", analyst, nil); st != 200 {
		t.Fatalf("analyst reads sales.eu: %d %v", st, b)
	}
	st, b := call(t, "DELETE", ns+"/sales%1Feu", analyst, nil)
	wantError(t, "analyst drops sales.eu", st, b, 403)
	st, b = call(t, "GET", ns, token("ann@example.com", "another-app", "analysts"), nil)
	wantError(t, "token for another audience", st, b, 401)
	if st, _ := call(t, "GET", ns+"/sales%1Feu", admin, nil); st != 200 {
		t.Fatal("the denied drop removed sales.eu")
	}
	lines := logs.auditLines()
	if len(lines) != 3 || lines[2]["principal"] != "oidc:ann@example.com" || lines[2]["outcome"] != "denied" {
		t.Fatalf("audit lines: %v", lines)
	}
}
