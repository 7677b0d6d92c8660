package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
)

// OAuthClient is a client of the client-credentials grant. SecretHash is
// "sha256:<hex digest>" or a bcrypt hash ("$2a$…", "$2b$…", "$2y$…"); the
// secret itself is never configured.
type OAuthClient struct {
	ID         string
	SecretHash string
	ReadOnly   bool
	Groups     []string
}

// OAuthConfig configures the token issuer.
type OAuthConfig struct {
	Clients []OAuthClient
	// Key signs tokens with HMAC-SHA256; at least 32 bytes. Every replica
	// must hold the same key (config, or etcd: see server/).
	Key []byte
	// TTL is a token's lifetime; default 1h.
	TTL time.Duration
	// Audience names this catalog, so that a token of one catalog is
	// refused by another that shares the key.
	Audience string
	// Now is the clock; time.Now if nil.
	Now func() time.Time
}

// Issuer is the "iss" of the tokens this catalog signs.
const Issuer = "ice-rest-catalog"

// MinKeyBytes is the shortest accepted signing key.
const MinKeyBytes = 32

// OAuth issues and verifies the catalog's own access tokens.
type OAuth struct {
	clients  map[string]OAuthClient
	key      []byte
	ttl      time.Duration
	issuer   string
	audience string
	now      func() time.Time
}

// Errors of the token endpoint, in the spec's OAuthError terms.
var (
	ErrInvalidClient = errors.New("invalid_client")
	ErrInvalidGrant  = errors.New("invalid_grant")
)

// NewOAuth checks cfg.
func NewOAuth(cfg OAuthConfig) (*OAuth, error) {
	if len(cfg.Key) < MinKeyBytes {
		return nil, fmt.Errorf("oauth signing key has %d bytes; at least %d are required", len(cfg.Key), MinKeyBytes)
	}
	o := &OAuth{clients: map[string]OAuthClient{}, key: cfg.Key, ttl: cfg.TTL, issuer: Issuer, audience: cfg.Audience, now: cfg.Now}
	if o.ttl <= 0 {
		o.ttl = time.Hour
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.audience == "" {
		o.audience = Issuer
	}
	for _, c := range cfg.Clients {
		if c.ID == "" || strings.ContainsAny(c.ID, ":") {
			return nil, fmt.Errorf("oauth client id %q must be non-empty and must not contain ':' (clients send id:secret)", c.ID)
		}
		if _, dup := o.clients[c.ID]; dup {
			return nil, fmt.Errorf("two oauth clients share the id %q", c.ID)
		}
		if err := CheckSecretHash(c.SecretHash); err != nil {
			return nil, fmt.Errorf("oauth client %q: %w", c.ID, err)
		}
		o.clients[c.ID] = c
	}
	return o, nil
}

// CheckSecretHash checks that h is "sha256:<64 hex digits>" or a bcrypt hash.
func CheckSecretHash(h string) error {
	if d, ok := strings.CutPrefix(h, "sha256:"); ok {
		if b, err := hex.DecodeString(d); err != nil || len(b) != sha256.Size {
			return errors.New("secretHash sha256:<hex> must hold 64 hex digits")
		}
		return nil
	}
	if _, err := bcrypt.Cost([]byte(h)); err != nil {
		return fmt.Errorf("secretHash is neither sha256:<hex> nor a bcrypt hash: %w", err)
	}
	return nil
}

// A dummy digest so that an unknown client id costs the same comparison as
// a known one.
var dummyDigest = "sha256:" + strings.Repeat("0", 64)

func secretMatches(hash, secret string) bool {
	if d, ok := strings.CutPrefix(hash, "sha256:"); ok {
		want, err := hex.DecodeString(d)
		got := sha256.Sum256([]byte(secret))
		return err == nil && subtle.ConstantTimeCompare(want, got[:]) == 1
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(secret)) == nil
}

// TokenResult is an issued token.
type TokenResult struct {
	AccessToken string
	ExpiresIn   int64 // seconds
	Scope       string
}

type tokenClaims struct {
	jwt.RegisteredClaims
	Scope string `json:"scope,omitempty"`
}

// Known reports whether id is a configured client id.
func (o *OAuth) Known(id string) bool {
	_, ok := o.clients[id]
	return ok
}

// ClientCredentials checks a client's secret and issues a token.
func (o *OAuth) ClientCredentials(id, secret, scope string) (TokenResult, error) {
	c, known := o.clients[id]
	hash := c.SecretHash
	if !known {
		hash = dummyDigest
	}
	if !secretMatches(hash, secret) || !known {
		return TokenResult{}, fmt.Errorf("%w: unknown client id or wrong secret", ErrInvalidClient)
	}
	return o.issue(c.ID, scope)
}

// Exchange issues a fresh token for the client of a valid token it issued:
// the refresh that the Java Iceberg client performs by token exchange
// before its token expires.
func (o *OAuth) Exchange(subjectToken, scope string) (TokenResult, error) {
	cl, err := o.verify(subjectToken)
	if err != nil {
		return TokenResult{}, fmt.Errorf("%w: %v", ErrInvalidGrant, err)
	}
	if _, ok := o.clients[cl.Subject]; !ok {
		return TokenResult{}, fmt.Errorf("%w: oauth client %q is no longer configured", ErrInvalidGrant, cl.Subject)
	}
	if scope == "" {
		scope = cl.Scope
	}
	return o.issue(cl.Subject, scope)
}

func (o *OAuth) issue(clientID, scope string) (TokenResult, error) {
	now := o.now()
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return TokenResult{}, fmt.Errorf("token id: %w", err)
	}
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    o.issuer,
			Subject:   clientID,
			Audience:  jwt.ClaimStrings{o.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(o.ttl)),
			ID:        hex.EncodeToString(jti),
		},
		Scope: scope,
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(o.key)
	if err != nil {
		return TokenResult{}, fmt.Errorf("sign token: %w", err)
	}
	return TokenResult{AccessToken: signed, ExpiresIn: int64(o.ttl / time.Second), Scope: scope}, nil
}

func (o *OAuth) verify(raw string) (*tokenClaims, error) {
	var cl tokenClaims
	_, err := jwt.ParseWithClaims(raw, &cl, func(*jwt.Token) (any, error) { return o.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(o.issuer), jwt.WithAudience(o.audience),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(o.now), jwt.WithLeeway(30*time.Second))
	if err != nil {
		return nil, tokenError(err)
	}
	return &cl, nil
}

// Verify checks a token this catalog issued. The client's current config
// decides its principal, so removing a client revokes its tokens.
func (o *OAuth) Verify(raw string) (Principal, error) {
	cl, err := o.verify(raw)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrBadCredentials, err)
	}
	c, ok := o.clients[cl.Subject]
	if !ok {
		return Principal{}, fmt.Errorf("%w: oauth client %q is no longer configured", ErrBadCredentials, cl.Subject)
	}
	return Principal{Name: "oauth:" + c.ID, Groups: c.Groups, ReadOnly: c.ReadOnly}, nil
}

// tokenError turns a jwt error into a short reason for the client.
func tokenError(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return errors.New("token has expired")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return errors.New("token is for another audience")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return errors.New("token is from another issuer")
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return errors.New("token is not valid yet")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return errors.New("token signature is invalid")
	}
	return fmt.Errorf("token is invalid: %v", err)
}

// NewSigningKey returns a fresh random key for OAuthConfig.Key.
func NewSigningKey() ([]byte, error) {
	k := make([]byte, MinKeyBytes)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generate oauth signing key: %w", err)
	}
	return k, nil
}
