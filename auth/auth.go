// Package auth decides who a request comes from and what it may do: a
// configured bearer token, a JWT this catalog issued to an OAuth client, a
// JWT from an external OIDC issuer, or the anonymous principal when
// anonymous access is on; and the rules that grant them access.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Principal is who a request acts as.
type Principal struct {
	// Name is "token:<name>" (or "token"), "oauth:<client id>",
	// "oidc:<subject>" or "anonymous".
	Name     string
	Groups   []string // from the OIDC groups claim, or an OAuth client's config
	ReadOnly bool
}

// Token is a configured bearer token.
type Token struct {
	Name     string
	Value    string
	ReadOnly bool
}

// Config configures an Authenticator.
type Config struct {
	Tokens []Token
	// Anonymous, when not nil, is the principal of requests without credentials.
	Anonymous *Principal
	// OAuth, when not nil, validates the tokens of POST /v1/oauth/tokens.
	OAuth *OAuth
	// OIDC, when not nil, validates tokens of an external issuer.
	OIDC *OIDC
}

// Errors of Authenticate; rest/ maps ErrUnavailable to 503 and the others
// to 401. Errors wrap them with the reason.
var (
	ErrNoCredentials  = errors.New("no credentials: send Authorization: Bearer <token>")
	ErrBadCredentials = errors.New("invalid bearer token")
	ErrUnavailable    = errors.New("cannot verify the token now")
)

type token struct {
	digest [sha256.Size]byte
	who    Principal
}

// Authenticator checks bearer tokens. Tokens are compared by their SHA-256
// digests in constant time, so neither a token's content nor its length
// leaks through timing, and every configured token is always compared.
type Authenticator struct {
	tokens    []token
	anonymous *Principal
	oauth     *OAuth
	oidc      *OIDC
}

// New checks cfg and returns an Authenticator.
func New(cfg Config) (*Authenticator, error) {
	a := &Authenticator{anonymous: cfg.Anonymous, oauth: cfg.OAuth, oidc: cfg.OIDC}
	seen := map[string]bool{}
	for _, t := range cfg.Tokens {
		if t.Value == "" {
			return nil, errors.New("bearer token " + quoteName(t.Name) + " has an empty value")
		}
		if t.Name == "anonymous" {
			return nil, errors.New(`bearer token name "anonymous" is reserved`)
		}
		if seen[t.Name] {
			return nil, errors.New("two bearer tokens share the name " + quoteName(t.Name))
		}
		seen[t.Name] = true
		name := "token"
		if t.Name != "" {
			name = "token:" + t.Name
		}
		a.tokens = append(a.tokens, token{digest: sha256.Sum256([]byte(t.Value)), who: Principal{Name: name, ReadOnly: t.ReadOnly}})
	}
	if len(a.tokens) == 0 && a.anonymous == nil && a.oidc == nil && (a.oauth == nil || len(a.oauth.clients) == 0) {
		return nil, errors.New("no bearer tokens, OAuth clients or OIDC issuer are configured and anonymousAccess is off, so no client could use the catalog; configure bearerTokens or set anonymousAccess.enabled: true")
	}
	return a, nil
}

func quoteName(n string) string { return `"` + n + `"` }

// Authenticate returns the principal of an Authorization header value.
// Configured bearer tokens are tried first; a value that is none of them
// and looks like a JWT is checked by the OAuth issuer or the OIDC verifier
// its "iss" claim names. ctx bounds a JWKS fetch.
func (a *Authenticator) Authenticate(ctx context.Context, header string) (Principal, error) {
	if header == "" {
		if a.anonymous != nil {
			return *a.anonymous, nil
		}
		return Principal{}, ErrNoCredentials
	}
	scheme, value, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Principal{}, ErrBadCredentials
	}
	digest := sha256.Sum256([]byte(strings.TrimSpace(value)))
	found := -1
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(digest[:], a.tokens[i].digest[:]) == 1 {
			found = i
		}
	}
	if found >= 0 {
		return a.tokens[found].who, nil
	}
	return a.authenticateJWT(ctx, strings.TrimSpace(value))
}

func (a *Authenticator) authenticateJWT(ctx context.Context, raw string) (Principal, error) {
	if strings.Count(raw, ".") != 2 || (a.oauth == nil && a.oidc == nil) {
		return Principal{}, ErrBadCredentials
	}
	// The issuer picks the verifier; the claims are trusted only after
	// that verifier has checked the signature.
	var peek jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &peek); err != nil {
		return Principal{}, fmt.Errorf("%w: not a well-formed JWT", ErrBadCredentials)
	}
	switch {
	case a.oauth != nil && peek.Issuer == a.oauth.issuer:
		return a.oauth.Verify(raw)
	case a.oidc != nil && peek.Issuer == a.oidc.issuer:
		return a.oidc.Verify(ctx, raw)
	}
	return Principal{}, fmt.Errorf("%w: token issuer %q is not trusted", ErrBadCredentials, peek.Issuer)
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal of the request, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}
