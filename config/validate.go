package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/auth"
)

// Problem is one thing wrong with a config, at a line of its YAML text when
// there is one (Line 0: the problem has no single place, or the config came
// without text).
type Problem struct {
	Line int
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
	}
	return p.Msg
}

// Problems is every problem Parse found, in the order of the text. It is
// the error Parse returns, so start-up and check-config print the same list.
type Problems []Problem

func (ps Problems) Error() string {
	if len(ps) == 1 {
		return ps[0].String()
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = "\n  " + p.String()
	}
	return fmt.Sprintf("%d problems:%s", len(ps), strings.Join(s, ""))
}

var decoderLine = regexp.MustCompile(`^\s*line (\d+): (.*)$`)

// decodeProblems turns yaml.v3's errors ("line N: ...", one per line of a
// *yaml.TypeError) into Problems.
func decodeProblems(err error) Problems {
	var out Problems
	for _, l := range strings.Split(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n"), "\n") {
		l = strings.TrimPrefix(l, "yaml: ")
		l = strings.ReplaceAll(l, "not found in type config.", "is not a known config key in ")
		if m := decoderLine.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			out = append(out, Problem{n, m[2]})
		} else if l = strings.TrimSpace(l); l != "" {
			out = append(out, Problem{0, l})
		}
	}
	return out
}

// lines finds the line of a key in the YAML tree: path elements are map
// keys (string) and sequence indexes (int). It gives the deepest line it
// reached, so a problem with a defaulted value points at its parent.
type lines struct{ root *yaml.Node }

func (l lines) at(path ...any) int {
	if l.root == nil {
		return 0
	}
	n := l.root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, p := range path {
		var next *yaml.Node
		switch k := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						line, next = n.Content[i].Line, n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k < len(n.Content) {
				next = n.Content[k]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

// check finds every value that decodes but that start-up would refuse, each
// at its line. It runs on the decoded config with the defaults applied.
func (c *Config) check(l lines) Problems {
	var p Problems
	add := func(line int, format string, a ...any) { p = append(p, Problem{line, fmt.Sprintf(format, a...)}) }

	if strings.Contains(c.Name, "/") {
		add(l.at("name"), "name %q must not contain '/': it prefixes etcd keys", c.Name)
	}
	switch c.Name {
	case "n", "t", "v", "p", "d", "ev", "idempotency", "maintenance", "auth":
		add(l.at("name"), "name %q is reserved: its keys would fall among the default catalog's %s/ keys", c.Name, c.Name)
	}
	for _, a := range []struct{ key, val string }{{"addr", c.Addr}, {"debugAddr", c.DebugAddr}} {
		if _, port, err := net.SplitHostPort(a.val); err != nil {
			add(l.at(a.key), "%s %q is not host:port: %v", a.key, a.val, err)
		} else if port == "" {
			add(l.at(a.key), "%s %q has no port", a.key, a.val)
		}
	}
	if _, port, _ := net.SplitHostPort(c.Addr); c.Addr == c.DebugAddr && port != "0" {
		add(l.at("debugAddr"), "addr and debugAddr are both %q", c.Addr)
	}
	switch {
	case c.URI != "" && !strings.HasPrefix(c.URI, "etcd:"):
		add(l.at("uri"), "uri %q is not supported: this server keeps its state in etcd (uri: etcd:http://host:2379,...); omit uri for an embedded etcd", c.URI)
	case c.URI != "" && len(c.EtcdEndpoints()) == 0:
		add(l.at("uri"), "uri %q names no etcd endpoint; omit uri for an embedded etcd", c.URI)
	}
	for _, e := range c.EtcdEndpoints() {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(l.at("uri"), "uri: etcd endpoint %q is not http://host:port or https://host:port", e)
		}
	}
	warehouseOK := false
	switch u, err := url.Parse(c.Warehouse); {
	case c.Warehouse == "":
		add(l.at("warehouse"), "warehouse is required with an external etcd: s3://bucket/prefix or file:///abs/dir")
	case err != nil:
		add(l.at("warehouse"), "warehouse %q: %v", c.Warehouse, err)
	case u.Scheme == "s3" && u.Host == "":
		add(l.at("warehouse"), "warehouse %q names no bucket: s3://bucket/prefix", c.Warehouse)
	case u.Scheme != "s3" && u.Scheme != "s3a" && u.Scheme != "file":
		add(l.at("warehouse"), "warehouse %q: scheme must be s3:// or file://", c.Warehouse)
	default:
		warehouseOK = true
	}
	if c.ShutdownGracePeriod < 0 {
		add(l.at("shutdownGracePeriod"), "shutdownGracePeriod %s must not be negative", c.ShutdownGracePeriod)
	}
	if c.MaxRequestBodyBytes < 0 {
		add(l.at("maxRequestBodyBytes"), "maxRequestBodyBytes must not be negative")
	}
	if c.MetadataCacheBytes < 0 {
		add(l.at("metadataCacheBytes"), "metadataCacheBytes must not be negative")
	}
	if c.MaxMetadataFileBytes < 0 {
		add(l.at("maxMetadataFileBytes"), "maxMetadataFileBytes must not be negative")
	}
	if warehouseOK {
		if _, err := ice.NewLocationRule(c.Warehouse, c.AllowedLocations); err != nil {
			add(l.at("allowedLocations"), "%v", err)
		}
	}
	if err := c.Limits.check(); err != nil {
		add(l.at("limits"), "%v", err)
	}
	if err := c.checkIdempotencyKeyLifetime(); err != nil {
		add(l.at("idempotencyKeyLifetime"), "%v", err)
	}
	if err := c.ScanPlanning.check(); err != nil {
		add(l.at("scanPlanning"), "%v", err)
	}
	if err := c.checkEvents(); err != nil {
		add(l.at("events"), "%v", err)
	}
	if err := c.checkCredentials(); err != nil {
		add(l.at("vendedCredentials"), "%v", err)
	}
	p = append(p, c.checkAccess(l)...)
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		add(l.at("tls"), "tls.certFile and tls.keyFile go together")
	}
	if (c.Etcd.CertFile == "") != (c.Etcd.KeyFile == "") {
		add(l.at("etcd"), "etcd.certFile and etcd.keyFile go together")
	}
	return p
}

// checkAccess checks who may get in: tokens, OAuth clients, OIDC, the
// anonymous principal and the access rules. The per-client, OIDC and rule
// checks are auth's own, so they cannot drift from what start-up builds.
func (c *Config) checkAccess(l lines) Problems {
	var p Problems
	add := func(line int, format string, a ...any) { p = append(p, Problem{line, fmt.Sprintf(format, a...)}) }

	seen := map[string]bool{}
	for i, t := range c.BearerTokens {
		if t.Value == "" {
			add(l.at("bearerTokens", i, "value"), "bearerTokens[%d] (%s): value is empty", i, t.Name)
		}
		if t.Name == "anonymous" {
			add(l.at("bearerTokens", i, "name"), `bearerTokens[%d]: the name "anonymous" is reserved for anonymousAccess`, i)
		}
		if seen[t.Name] {
			add(l.at("bearerTokens", i, "name"), "bearerTokens[%d]: another token has the name %q; names must be unique (they name the principal in rules and audit lines)", i, t.Name)
		}
		seen[t.Name] = true
	}
	ids := map[string]bool{}
	for i, cl := range c.OAuth.Clients {
		if cl.ID == "" || strings.Contains(cl.ID, ":") {
			add(l.at("oauth", "clients", i, "id"), "oauth.clients[%d]: id %q must be non-empty and must not contain ':' (clients send id:secret)", i, cl.ID)
		}
		if ids[cl.ID] {
			add(l.at("oauth", "clients", i, "id"), "oauth.clients[%d]: another client has the id %q", i, cl.ID)
		}
		ids[cl.ID] = true
		if err := auth.CheckSecretHash(cl.SecretHash); err != nil {
			add(l.at("oauth", "clients", i, "secretHash"), "oauth.clients[%d] (%s): %v", i, cl.ID, err)
		}
	}
	if k := c.OAuth.SigningKey; k != "" {
		if key, err := base64.StdEncoding.DecodeString(k); err != nil {
			add(l.at("oauth", "signingKey"), "oauth.signingKey is not base64: %v", err)
		} else if len(key) < auth.MinKeyBytes {
			add(l.at("oauth", "signingKey"), "oauth.signingKey holds %d bytes; at least %d are required (openssl rand -base64 32)", len(key), auth.MinKeyBytes)
		}
	}
	if o := c.OIDC; o.Issuer != "" || o.Audience != "" {
		if _, err := auth.NewOIDC(auth.OIDCConfig{Issuer: o.Issuer, Audience: o.Audience}); err != nil {
			add(l.at("oidc"), "%v", err)
		}
	}
	for i, r := range c.Authorization.Rules {
		lvl, err := auth.ParseLevel(r.Access)
		if err != nil {
			add(l.at("authorization", "rules", i, "access"), "authorization rule %d: %v", i+1, err)
			continue
		}
		if _, err := auth.NewAuthorizer([]auth.Rule{{Principals: r.Principals, Namespaces: r.Namespaces, Access: lvl}}); err != nil {
			add(l.at("authorization", "rules", i), "%s", strings.Replace(err.Error(), "authorization rule 1", fmt.Sprintf("authorization rule %d", i+1), 1))
		}
	}
	if len(c.BearerTokens) == 0 && len(c.OAuth.Clients) == 0 && c.OIDC.Issuer == "" && !c.AnonymousAccess.Enabled {
		add(0, "no bearer tokens, OAuth clients or OIDC issuer are configured and anonymousAccess is off, so no client could use the catalog; "+
			"configure bearerTokens, or set anonymousAccess.enabled: true (a config file turns the embedded default's anonymous access off)")
	}
	return p
}
