// Package auth decides who a request comes from: a configured bearer token,
// or the anonymous principal when anonymous access is on.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"
)

// Principal is who a request acts as.
type Principal struct {
	Name     string // "token:<name>" or "anonymous"
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
}

// Errors of Authenticate; rest/ maps them to 401.
var (
	ErrNoCredentials  = errors.New("no credentials: send Authorization: Bearer <token>")
	ErrBadCredentials = errors.New("invalid bearer token")
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
}

// New checks cfg and returns an Authenticator.
func New(cfg Config) (*Authenticator, error) {
	a := &Authenticator{anonymous: cfg.Anonymous}
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
	if len(a.tokens) == 0 && a.anonymous == nil {
		return nil, errors.New("no bearer tokens are configured and anonymousAccess is off, so no client could use the catalog; configure bearerTokens or set anonymousAccess.enabled: true")
	}
	return a, nil
}

func quoteName(n string) string { return `"` + n + `"` }

// Authenticate returns the principal of an Authorization header value.
func (a *Authenticator) Authenticate(header string) (Principal, error) {
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
	if found < 0 {
		return Principal{}, ErrBadCredentials
	}
	return a.tokens[found].who, nil
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
