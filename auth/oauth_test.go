package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ice-rest-catalog/ice/auth"
)

func sha256Hash(secret string) string {
	d := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(d[:])
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newOAuth(t *testing.T, c *clock, audience string) *auth.OAuth {
	t.Helper()
	bc, err := bcrypt.GenerateFromPassword([]byte("bcrypt-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	o, err := auth.NewOAuth(auth.OAuthConfig{
		Key:      []byte(strings.Repeat("k", 32)),
		TTL:      time.Hour,
		Audience: audience,
		Now:      c.now,
		Clients: []auth.OAuthClient{
			{ID: "spark", SecretHash: sha256Hash("s3cret"), Groups: []string{"etl"}},
			{ID: "clickhouse", SecretHash: string(bc), ReadOnly: true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestOAuthClientCredentials(t *testing.T) {
	c := &clock{time.Unix(1_700_000_000, 0)}
	o := newOAuth(t, c, "ice-rest-catalog:default")
	authn, err := auth.New(auth.Config{OAuth: o})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := o.ClientCredentials("spark", "s3cret", "catalog")
	if err != nil {
		t.Fatal(err)
	}
	if tok.ExpiresIn != 3600 || tok.Scope != "catalog" {
		t.Errorf("token %+v", tok)
	}
	who, err := authn.Authenticate(context.Background(), "Bearer "+tok.AccessToken)
	if err != nil || who.Name != "oauth:spark" || len(who.Groups) != 1 || who.ReadOnly {
		t.Fatalf("principal %+v, %v", who, err)
	}
	bt, err := o.ClientCredentials("clickhouse", "bcrypt-secret", "PRINCIPAL_ROLE:ALL")
	if err != nil {
		t.Fatal(err)
	}
	if who, err := o.Verify(bt.AccessToken); err != nil || !who.ReadOnly {
		t.Fatalf("bcrypt client: %+v, %v", who, err)
	}

	for _, bad := range [][2]string{{"spark", "wrong"}, {"nobody", "s3cret"}, {"", ""}, {"clickhouse", ""}} {
		if _, err := o.ClientCredentials(bad[0], bad[1], ""); !errors.Is(err, auth.ErrInvalidClient) {
			t.Errorf("%q/%q: %v", bad[0], bad[1], err)
		}
	}

	// Refresh by exchange keeps the client; an expired token is refused
	// with a reason, and cannot be exchanged.
	fresh, err := o.Exchange(tok.AccessToken, "")
	if err != nil || fresh.Scope != "catalog" {
		t.Fatalf("exchange: %+v, %v", fresh, err)
	}
	c.t = c.t.Add(2 * time.Hour)
	if _, err := authn.Authenticate(context.Background(), "Bearer "+tok.AccessToken); !errors.Is(err, auth.ErrBadCredentials) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired token: %v", err)
	}
	if _, err := o.Exchange(tok.AccessToken, ""); !errors.Is(err, auth.ErrInvalidGrant) {
		t.Fatalf("exchange of an expired token: %v", err)
	}
}

// A token of another catalog (same key, other audience), a tampered token,
// and a token signed with "none" or another key are all refused.
func TestOAuthRejectsForeignTokens(t *testing.T) {
	c := &clock{time.Now()}
	mine := newOAuth(t, c, "ice-rest-catalog:default")
	other := newOAuth(t, c, "ice-rest-catalog:prod")
	tok, err := other.ClientCredentials("spark", "s3cret", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mine.Verify(tok.AccessToken); err == nil || !strings.Contains(err.Error(), "audience") {
		t.Errorf("other audience: %v", err)
	}
	good, _ := mine.ClientCredentials("spark", "s3cret", "")
	parts := strings.Split(good.AccessToken, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]
	none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."
	for name, raw := range map[string]string{"tampered": tampered, "alg none": none, "garbage": "a.b.c"} {
		if _, err := mine.Verify(raw); err == nil {
			t.Errorf("%s token accepted", name)
		}
	}
	if _, err := auth.NewOAuth(auth.OAuthConfig{Key: []byte("short")}); err == nil {
		t.Error("a short key was accepted")
	}
	if _, err := auth.NewOAuth(auth.OAuthConfig{Key: []byte(strings.Repeat("k", 32)),
		Clients: []auth.OAuthClient{{ID: "x", SecretHash: "plaintext"}}}); err == nil {
		t.Error("a plaintext secret was accepted as a hash")
	}
}
