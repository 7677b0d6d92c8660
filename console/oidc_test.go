package console_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// oidcIssuer is an OpenID provider on loopback with discovery, JWKS, an
// authorization endpoint that approves at once (no login form: no real
// identity provider can run here), and a token endpoint that checks the
// PKCE verifier against the challenge of its code, as RFC 7636 says.
type oidcIssuer struct {
	srv        *httptest.Server
	key        *rsa.PrivateKey
	mu         sync.Mutex
	challenges map[string]string // code -> S256 challenge
	redirects  map[string]string // code -> redirect_uri
	exchanged  int
}

func startIssuer(t *testing.T, clientID string) *oidcIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	o := &oidcIssuer{key: key, challenges: map[string]string{}, redirects: map[string]string{}}
	cors := func(w http.ResponseWriter) { w.Header().Set("Access-Control-Allow-Origin", "*") }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		cors(w)
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": o.srv.URL, "jwks_uri": o.srv.URL + "/jwks",
			"authorization_endpoint": o.srv.URL + "/authorize", "token_endpoint": o.srv.URL + "/token"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		enc := base64.RawURLEncoding
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "k1", "alg": "RS256",
			"n": enc.EncodeToString(key.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(key.E)).Bytes())}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != clientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
			http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		code := fmt.Sprintf("code-%d", time.Now().UnixNano())
		o.mu.Lock()
		o.challenges[code], o.redirects[code] = q.Get("code_challenge"), q.Get("redirect_uri")
		o.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("OPTIONS /token", func(w http.ResponseWriter, r *http.Request) {
		cors(w)
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		cors(w)
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		code, verifier := r.PostForm.Get("code"), r.PostForm.Get("code_verifier")
		sum := sha256.Sum256([]byte(verifier))
		o.mu.Lock()
		want, redirect := o.challenges[code], o.redirects[code]
		delete(o.challenges, code)
		o.mu.Unlock()
		if want == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != want || r.PostForm.Get("redirect_uri") != redirect ||
			r.PostForm.Get("client_id") != clientID || r.PostForm.Get("grant_type") != "authorization_code" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
			return
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": o.srv.URL, "aud": "ice", "sub": "ann",
			"exp": time.Now().Add(time.Hour).Unix(), "groups": []string{"data-admins"}})
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		o.mu.Lock()
		o.exchanged++
		o.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": s, "token_type": "Bearer", "expires_in": 3600})
	})
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	return o
}

// TestConsoleOIDCSignIn signs in through the authorization-code flow with
// PKCE: the console sends the S256 challenge, the issuer redirects back to
// /ui/ with a code, the console trades it with its verifier, and the
// catalog accepts the token as the issuer's principal.
func TestConsoleOIDCSignIn(t *testing.T) {
	needChromium(t)
	const clientID = "ice-console"
	idp := startIssuer(t, clientID)
	c := startConsoleCatalog(t, fmt.Sprintf("oidc: {issuer: %q, audience: ice}\n", idp.srv.URL)+
		fmt.Sprintf("console: {enabled: true, oidcClientID: %s}\n", clientID))
	b := newBrowser(t)
	ctx := b.ctx
	b.do(ctx, "open the console", navigate(c.URL+"/ui/#/signin"), waitFor(`!!document.querySelector('#signin-oidc')`))
	b.do(ctx, "sign in", clickOnly("#signin-oidc"), waitFor(`document.getElementById('app').dataset.page === 'catalog'`))
	if who := b.text(ctx, "#who"); who != "oidc:ann · admin" {
		t.Fatalf("signed in as %q", who)
	}
	if loc := eval[string](b, ctx, `location.href`); loc != c.URL+"/ui/#/" {
		t.Errorf("the code stays in the URL: %s", loc)
	}
	idp.mu.Lock()
	n := idp.exchanged
	idp.mu.Unlock()
	if n != 1 {
		t.Errorf("%d token exchanges, want 1", n)
	}
	b.expect("oidc sign-in", "401 /management/v1/whoami")
}
