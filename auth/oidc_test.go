package auth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ice-rest-catalog/ice/auth"
)

// issuer is a real OIDC issuer on a loopback port: discovery and a JWKS
// whose keys the test can rotate.
type issuer struct {
	srv        *httptest.Server
	mu         sync.Mutex
	keys       map[string]crypto.Signer
	jwksFetchs atomic.Int32
}

func newIssuer(t *testing.T) *issuer {
	is := &issuer{keys: map[string]crypto.Signer{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/keys"})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		is.jwksFetchs.Add(1)
		is.mu.Lock()
		defer is.mu.Unlock()
		var keys []map[string]string
		for kid, k := range is.keys {
			keys = append(keys, jwkOf(kid, k.Public()))
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func jwkOf(kid string, pub crypto.PublicKey) map[string]string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PublicKey:
		raw, _ := k.Bytes() // 0x04 || X || Y
		n := (len(raw) - 1) / 2
		return map[string]string{"kty": "EC", "kid": kid, "crv": k.Curve.Params().Name, "x": b64(raw[1 : 1+n]), "y": b64(raw[1+n:])}
	}
	panic("key type")
}

func (is *issuer) setKeys(t *testing.T, kids ...string) {
	t.Helper()
	is.mu.Lock()
	defer is.mu.Unlock()
	is.keys = map[string]crypto.Signer{}
	for _, kid := range kids {
		var err error
		if strings.HasPrefix(kid, "ec") {
			is.keys[kid], err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		} else {
			is.keys[kid], err = rsa.GenerateKey(rand.Reader, 2048)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (is *issuer) sign(t *testing.T, kid string, claims jwt.MapClaims) string {
	t.Helper()
	is.mu.Lock()
	k := is.keys[kid]
	is.mu.Unlock()
	method := jwt.SigningMethod(jwt.SigningMethodRS256)
	if _, ok := k.(*ecdsa.PrivateKey); ok {
		method = jwt.SigningMethodES256
	}
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (is *issuer) claims(sub string, extra map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{"iss": is.srv.URL, "aud": "ice", "sub": sub, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func TestOIDC(t *testing.T) {
	is := newIssuer(t)
	is.setKeys(t, "rsa-1", "ec-1")
	v, err := auth.NewOIDC(auth.OIDCConfig{Issuer: is.srv.URL, Audience: "ice", GroupsClaim: "realm_access.roles", MinRefresh: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(auth.Config{OIDC: v})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	roles := map[string]any{"roles": []any{"analysts", "bi"}}
	for _, kid := range []string{"rsa-1", "ec-1"} {
		who, err := authn.Authenticate(ctx, "Bearer "+is.sign(t, kid, is.claims("alice", map[string]any{"realm_access": roles})))
		if err != nil {
			t.Fatalf("%s: %v", kid, err)
		}
		if who.Name != "oidc:alice" || strings.Join(who.Groups, ",") != "analysts,bi" {
			t.Fatalf("%s: principal %+v", kid, who)
		}
	}
	if n := is.jwksFetchs.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times for two tokens; want 1 (cached)", n)
	}

	for name, c := range map[string]jwt.MapClaims{
		"wrong audience": is.claims("alice", map[string]any{"aud": "other-app"}),
		"expired":        is.claims("alice", map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}),
		"no expiry":      is.claims("alice", map[string]any{"exp": nil}),
		"no subject":     is.claims("", nil),
	} {
		if c["exp"] == nil {
			delete(c, "exp")
		}
		if _, err := authn.Authenticate(ctx, "Bearer "+is.sign(t, "rsa-1", c)); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The issuer check is the verifier's own, not only the routing.
	if _, err := v.Verify(ctx, is.sign(t, "rsa-1", is.claims("alice", map[string]any{"iss": "https://evil.example"}))); err == nil {
		t.Error("token of another issuer accepted")
	}

	// Algorithm confusion: HS256 keyed with public material must fail.
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, is.claims("alice", nil))
	hs.Header["kid"] = "rsa-1"
	forged, _ := hs.SignedString([]byte("anything"))
	if _, err := authn.Authenticate(ctx, "Bearer "+forged); err == nil {
		t.Error("HS256 token accepted")
	}

	// Rotation: a token with the new key id triggers one fetch and passes;
	// the retired key is refused from then on.
	old := is.sign(t, "rsa-1", is.claims("alice", nil))
	is.setKeys(t, "rsa-2")
	if _, err := authn.Authenticate(ctx, "Bearer "+is.sign(t, "rsa-2", is.claims("bob", nil))); err != nil {
		t.Fatalf("token signed with the rotated key: %v", err)
	}
	if _, err := authn.Authenticate(ctx, "Bearer "+old); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("token signed with the retired key: %v", err)
	}
}

// An unreachable issuer is a 503-class error, not a bad token.
func TestOIDCIssuerDown(t *testing.T) {
	is := newIssuer(t)
	is.setKeys(t, "rsa-1")
	v, err := auth.NewOIDC(auth.OIDCConfig{Issuer: is.srv.URL, Audience: "ice"})
	if err != nil {
		t.Fatal(err)
	}
	tok := is.sign(t, "rsa-1", is.claims("alice", nil))
	is.srv.Close()
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("issuer down: %v", err)
	}
	if _, err := auth.NewOIDC(auth.OIDCConfig{Issuer: is.srv.URL}); err == nil {
		t.Error("an OIDC config without audience was accepted")
	}
}
