package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// OIDCConfig configures the verification of an external issuer's JWTs.
type OIDCConfig struct {
	// Issuer is the "iss" the tokens carry, and the base of discovery:
	// <Issuer>/.well-known/openid-configuration names the JWKS.
	Issuer string
	// Audience must be among the token's "aud".
	Audience string
	// SubjectClaim names the principal; default "sub". GroupsClaim holds
	// the groups; default "groups". Either may be a dotted path into
	// nested objects, e.g. "realm_access.roles".
	SubjectClaim, GroupsClaim string
	// CacheTTL is how long a fetched JWKS is used before it is fetched
	// again; default 1h. MinRefresh is the least time between two fetches
	// caused by an unknown key id (a rotation); default 10s, so a flood of
	// forged key ids cannot turn into a flood of requests to the issuer.
	CacheTTL, MinRefresh time.Duration
	// HTTP fetches discovery and JWKS; default a client with a 10s timeout.
	HTTP *http.Client
	// Now is the clock; time.Now if nil.
	Now func() time.Time
}

// OIDC verifies tokens of one external issuer against its published keys.
type OIDC struct {
	cfg    OIDCConfig
	issuer string

	mu        sync.Mutex
	jwksURI   string
	keys      map[string]any // kid -> *rsa.PublicKey or *ecdsa.PublicKey
	fetchedAt time.Time
}

// oidcAlgs are the asymmetric algorithms accepted: an issuer's JWKS holds
// public keys only, so HMAC ("alg":"HS256" with the public key as secret)
// and "none" must never be.
var oidcAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

// NewOIDC checks cfg. Nothing is fetched until the first token arrives, so
// the catalog starts while the issuer is down.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	if !strings.HasPrefix(cfg.Issuer, "https://") && !strings.HasPrefix(cfg.Issuer, "http://") {
		return nil, fmt.Errorf("oidc issuer %q must be an http(s) URL", cfg.Issuer)
	}
	if cfg.Audience == "" {
		return nil, errors.New("oidc audience is required: without it a token issued for any other application would be accepted")
	}
	if cfg.SubjectClaim == "" {
		cfg.SubjectClaim = "sub"
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = time.Hour
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = 10 * time.Second
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &OIDC{cfg: cfg, issuer: cfg.Issuer}, nil
}

// Verify checks raw's signature, issuer, audience and expiry, and maps its
// claims to a principal.
func (o *OIDC) Verify(ctx context.Context, raw string) (Principal, error) {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return o.key(ctx, kid)
	}, jwt.WithValidMethods(oidcAlgs), jwt.WithIssuer(o.issuer), jwt.WithAudience(o.cfg.Audience),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(o.cfg.Now), jwt.WithLeeway(30*time.Second))
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			return Principal{}, err
		}
		return Principal{}, fmt.Errorf("%w: %v", ErrBadCredentials, tokenError(err))
	}
	sub, _ := claimAt(claims, o.cfg.SubjectClaim).(string)
	if sub == "" {
		return Principal{}, fmt.Errorf("%w: token has no %q claim", ErrBadCredentials, o.cfg.SubjectClaim)
	}
	return Principal{Name: "oidc:" + sub, Groups: stringsOf(claimAt(claims, o.cfg.GroupsClaim))}, nil
}

func claimAt(claims map[string]any, path string) any {
	var cur any = claims
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

func stringsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// key returns the public key kid names, fetching the JWKS when the cache
// is stale or lacks kid (the issuer rotated its keys).
func (o *OIDC) key(ctx context.Context, kid string) (any, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.cfg.Now()
	k, found := o.lookup(kid)
	stale := o.keys == nil || now.Sub(o.fetchedAt) >= o.cfg.CacheTTL
	if found && !stale {
		return k, nil
	}
	if !stale && now.Sub(o.fetchedAt) < o.cfg.MinRefresh {
		return nil, fmt.Errorf("no key with id %q in the issuer's JWKS", kid)
	}
	if err := o.fetch(ctx); err != nil {
		if found {
			return k, nil // a stale key beats no answer while the issuer is down
		}
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if k, found = o.lookup(kid); !found {
		return nil, fmt.Errorf("no key with id %q in the issuer's JWKS", kid)
	}
	return k, nil
}

func (o *OIDC) lookup(kid string) (any, bool) {
	if kid == "" && len(o.keys) == 1 {
		for _, k := range o.keys {
			return k, true
		}
	}
	k, ok := o.keys[kid]
	return k, ok
}

func (o *OIDC) fetch(ctx context.Context) error {
	if o.jwksURI == "" {
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := o.getJSON(ctx, strings.TrimSuffix(o.issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
			return fmt.Errorf("oidc discovery: %w", err)
		}
		if doc.Issuer != o.issuer {
			return fmt.Errorf("oidc discovery names issuer %q, not the configured %q", doc.Issuer, o.issuer)
		}
		if doc.JWKSURI == "" {
			return errors.New("oidc discovery document has no jwks_uri")
		}
		o.jwksURI = doc.JWKSURI
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := o.getJSON(ctx, o.jwksURI, &set); err != nil {
		return fmt.Errorf("oidc jwks: %w", err)
	}
	keys := map[string]any{}
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if pub, err := k.publicKey(); err == nil {
			keys[k.Kid] = pub
		}
	}
	o.keys, o.fetchedAt = keys, o.cfg.Now()
	return nil
}

func (o *OIDC) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := o.cfg.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// jwk is one JSON Web Key (RFC 7517): the RSA and EC public key forms.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func (k jwk) publicKey() (any, error) {
	b64 := base64.RawURLEncoding
	switch k.Kty {
	case "RSA":
		n, err1 := b64.DecodeString(k.N)
		e, err2 := b64.DecodeString(k.E)
		if err := errors.Join(err1, err2); err != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RSA key")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("unsupported curve %q", k.Crv)
		}
		x, err1 := b64.DecodeString(k.X)
		y, err2 := b64.DecodeString(k.Y)
		if err := errors.Join(err1, err2); err != nil {
			return nil, errors.New("bad EC key")
		}
		// Build the uncompressed point and let ecdh-backed parsing check it
		// lies on the curve.
		size := (curve.Params().BitSize + 7) / 8
		if len(x) != size || len(y) != size {
			return nil, errors.New("bad EC key size")
		}
		pt := append([]byte{4}, append(x, y...)...)
		return ecdsa.ParseUncompressedPublicKey(curve, pt)
	}
	return nil, fmt.Errorf("unsupported key type %q", k.Kty)
}
