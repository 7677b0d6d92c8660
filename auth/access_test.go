package auth_test

import (
	"testing"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/auth"
)

func TestAuthorizerRules(t *testing.T) {
	a, err := auth.NewAuthorizer([]auth.Rule{
		{Principals: []string{"group:analysts"}, Namespaces: []string{"sales"}, Access: auth.Read},
		{Principals: []string{"oauth:etl"}, Namespaces: []string{"sales.eu", "team_*.raw"}, Access: auth.Write},
		{Principals: []string{"oidc:alice"}, Access: auth.Admin},
		{Principals: []string{"*"}, Namespaces: []string{"public"}, Access: auth.Read},
	})
	if err != nil {
		t.Fatal(err)
	}
	analyst := auth.Principal{Name: "oidc:bob", Groups: []string{"analysts"}}
	etl := auth.Principal{Name: "oauth:etl"}
	alice := auth.Principal{Name: "oidc:alice"}
	aliceRO := auth.Principal{Name: "oidc:alice", ReadOnly: true}
	anon := auth.Principal{Name: "anonymous"}
	ns := func(levels ...string) ice.Namespace { return levels }
	for _, c := range []struct {
		who  auth.Principal
		ns   ice.Namespace
		want auth.Level
	}{
		{analyst, ns("sales"), auth.Read},
		{analyst, ns("sales", "eu"), auth.Read}, // a grant covers the subtree
		{analyst, ns("salesX"), auth.None},
		{analyst, nil, auth.None},
		{etl, ns("sales"), auth.None},
		{etl, ns("sales", "eu"), auth.Write},
		{etl, ns("sales", "eu", "x"), auth.Write},
		{etl, ns("team_a", "raw"), auth.Write},
		{etl, ns("team_a", "clean"), auth.None},
		{etl, ns("team_a"), auth.None},
		{alice, ns("anything"), auth.Admin},
		{alice, nil, auth.Admin},
		{aliceRO, ns("anything"), auth.Read}, // readOnly caps every grant
		{anon, ns("public", "x"), auth.Read},
		{anon, ns("sales"), auth.None},
	} {
		if got := a.Level(c.who, c.ns); got != c.want {
			t.Errorf("Level(%s, %v) = %s, want %s", c.who.Name, c.ns, got, c.want)
		}
	}
	if !a.Any(etl) {
		t.Error("Any")
	}
	if a.Any(auth.Principal{Name: "token:x"}) != true { // "*" matches every principal
		t.Error("the * rule should give every principal a grant")
	}
}

// Without rules the Java server's behaviour holds: full access, capped to
// read for read-only principals.
func TestAuthorizerLegacy(t *testing.T) {
	a, err := auth.NewAuthorizer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Level(auth.Principal{Name: "token:rw"}, nil); got != auth.Admin {
		t.Errorf("read-write token: %s", got)
	}
	if got := a.Level(auth.Principal{Name: "token:ro", ReadOnly: true}, ice.Namespace{"x"}); got != auth.Read {
		t.Errorf("read-only token: %s", got)
	}
}

func TestAuthorizerRejectsBadRules(t *testing.T) {
	for _, r := range []auth.Rule{
		{Principals: nil, Access: auth.Read},
		{Principals: []string{"user:x"}, Access: auth.Read},
		{Principals: []string{"token:"}, Access: auth.Read},
		{Principals: []string{"*"}, Access: auth.None},
		{Principals: []string{"*"}, Namespaces: []string{"a..b"}, Access: auth.Read},
		{Principals: []string{"*"}, Namespaces: []string{"[a"}, Access: auth.Read},
		{Principals: []string{"*"}, Namespaces: []string{"sales"}, Access: auth.Admin},
	} {
		if _, err := auth.NewAuthorizer([]auth.Rule{r}); err == nil {
			t.Errorf("rule %+v accepted", r)
		}
	}
}
