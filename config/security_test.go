package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ice-rest-catalog/ice/config"
)

func TestSecurityKeys(t *testing.T) {
	c, err := config.Parse([]byte(`
bearerTokens: [{name: a, value: b}]
readHeaderTimeout: 300ms
writeTimeout: 2m
oauth:
  signingKey: ${KEY}
  tokenTTL: 15m
  clients:
    - {id: spark, secretHash: "sha256:0000000000000000000000000000000000000000000000000000000000000000", groups: [etl], accessConfig: {readOnly: true}}
oidc: {issuer: "https://idp", audience: ice, groupsClaim: realm_access.roles, jwksCacheTTL: 5m}
authorization:
  rules:
    - {principals: ["group:etl"], namespaces: [sales], access: write}
tls: {certFile: /c, keyFile: /k}
etcd: {caFile: /ca, username: u, password: p}
`), func(k string) string {
		return map[string]string{"KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	to := c.Timeouts.WithDefaults()
	if to.ReadHeaderTimeout != 300*time.Millisecond || to.WriteTimeout != 2*time.Minute || to.ReadTimeout != time.Minute || to.IdleTimeout != 2*time.Minute {
		t.Errorf("timeouts %+v", to)
	}
	if c.OAuth.SigningKey != "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" || c.OAuth.TokenTTL != 15*time.Minute || !c.OAuth.Clients[0].AccessConfig.ReadOnly || c.OAuth.Clients[0].Groups[0] != "etl" {
		t.Errorf("oauth %+v", c.OAuth)
	}
	if c.OIDC.GroupsClaim != "realm_access.roles" || c.OIDC.JWKSCacheTTL != 5*time.Minute {
		t.Errorf("oidc %+v", c.OIDC)
	}
	if r := c.Authorization.Rules[0]; r.Access != "write" || r.Namespaces[0] != "sales" {
		t.Errorf("rule %+v", r)
	}
	if !c.TLS.Enabled() || c.Etcd.Password != "p" {
		t.Errorf("tls %+v etcd %+v", c.TLS, c.Etcd)
	}
	if _, err := config.Parse([]byte("oauth: {clientz: []}\n"), func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "clientz") {
		t.Errorf("unknown key under oauth: %v", err)
	}
}
