package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ice-rest-catalog/ice/auth"
)

// What authentication adds to each request, by credential kind.
func BenchmarkAuthenticate(b *testing.B) {
	c := &clock{time.Now()}
	o, err := auth.NewOAuth(auth.OAuthConfig{Key: []byte(strings.Repeat("k", 32)), Now: c.now,
		Clients: []auth.OAuthClient{{ID: "spark", SecretHash: sha256Hash("s3cret")}}})
	if err != nil {
		b.Fatal(err)
	}
	var tokens []auth.Token
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		tokens = append(tokens, auth.Token{Name: n, Value: "token-" + n})
	}
	authn, err := auth.New(auth.Config{Tokens: tokens, OAuth: o})
	if err != nil {
		b.Fatal(err)
	}
	jwt, err := o.ClientCredentials("spark", "s3cret", "catalog")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for name, header := range map[string]string{"static-token-of-8": "Bearer token-h", "oauth-jwt": "Bearer " + jwt.AccessToken} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := authn.Authenticate(ctx, header); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
