package config

// Console is the web console at /ui/ on the API listener and its read-only
// management endpoints under /management/v1 (docs/console.md).
type Console struct {
	// Enabled turns the console on. The embedded default (no config) has
	// it on; a config file has it off unless it says enabled: true.
	Enabled *bool `yaml:"enabled"`
	// OIDCClientID is the public client the console's authorization-code
	// sign-in (with PKCE) uses at oidc.issuer; empty hides that sign-in.
	OIDCClientID string `yaml:"oidcClientID"`
	// OIDCScopes are requested with it; default "openid".
	OIDCScopes []string `yaml:"oidcScopes"`
}

// ConsoleEnabled says whether /ui/ and /management/v1 are served.
func (c *Config) ConsoleEnabled() bool {
	return c.Console.Enabled != nil && *c.Console.Enabled
}
