package config

import "time"

// Security, transport and timeout settings. None of these keys exist in the
// Java ice-rest-catalog's config; they are all optional, and a config
// without them behaves as before (bearerTokens and anonymousAccess only).

// OAuth configures POST /v1/oauth/tokens (the client-credentials grant).
type OAuth struct {
	// SigningKey is the base64 of at least 32 random bytes
	// (openssl rand -base64 32). Empty: a key is generated once and kept in
	// etcd, so every replica signs and verifies with the same one.
	SigningKey string        `yaml:"signingKey"`
	TokenTTL   time.Duration `yaml:"tokenTTL"` // default 1h
	Clients    []OAuthClient `yaml:"clients"`
}

// OAuthClient is one client id with the hash of its secret.
type OAuthClient struct {
	ID string `yaml:"id"`
	// SecretHash is "sha256:<hex>" or a bcrypt hash ($2a$/$2b$/$2y$).
	SecretHash   string       `yaml:"secretHash"`
	Groups       []string     `yaml:"groups"`
	AccessConfig AccessConfig `yaml:"accessConfig"`
}

// OIDC configures validation of an external issuer's JWTs.
type OIDC struct {
	Issuer       string        `yaml:"issuer"`
	Audience     string        `yaml:"audience"`
	SubjectClaim string        `yaml:"subjectClaim"` // default "sub"
	GroupsClaim  string        `yaml:"groupsClaim"`  // default "groups"
	JWKSCacheTTL time.Duration `yaml:"jwksCacheTTL"` // default 1h
	// JWKSMinRefresh is the least time between JWKS fetches caused by an
	// unknown key id; default 10s.
	JWKSMinRefresh time.Duration `yaml:"jwksMinRefresh"`
}

// Authorization holds the access rules. Without rules every principal may
// do everything its accessConfig.readOnly allows, as in the Java server.
type Authorization struct {
	Rules []AccessRule `yaml:"rules"`
}

// AccessRule grants access (read, write or admin) on namespace patterns.
type AccessRule struct {
	Principals []string `yaml:"principals"`
	Namespaces []string `yaml:"namespaces"`
	Access     string   `yaml:"access"`
}

// TLS makes the API listener serve HTTPS only.
type TLS struct {
	CertFile string `yaml:"certFile"`
	KeyFile  string `yaml:"keyFile"`
	// ReloadCheckInterval is how often, at most, a TLS handshake checks
	// whether the files changed; default 10s.
	ReloadCheckInterval time.Duration `yaml:"reloadCheckInterval"`
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Etcd is how the server authenticates to an external etcd.
type Etcd struct {
	CAFile   string `yaml:"caFile"`
	CertFile string `yaml:"certFile"`
	KeyFile  string `yaml:"keyFile"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// Timeouts bound how long the API listener waits on a client.
type Timeouts struct {
	ReadHeaderTimeout time.Duration `yaml:"readHeaderTimeout"` // default 10s
	ReadTimeout       time.Duration `yaml:"readTimeout"`       // default 60s
	WriteTimeout      time.Duration `yaml:"writeTimeout"`      // default 120s
	IdleTimeout       time.Duration `yaml:"idleTimeout"`       // default 120s
}

// WithDefaults fills the unset timeouts.
func (t Timeouts) WithDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.ReadHeaderTimeout, 10*time.Second)
	def(&t.ReadTimeout, 60*time.Second)
	def(&t.WriteTimeout, 120*time.Second)
	def(&t.IdleTimeout, 120*time.Second)
	return t
}
