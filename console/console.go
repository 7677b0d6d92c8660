// Package console is the web console served at /ui/ on the API listener:
// static HTML, CSS and JavaScript modules embedded in the binary (assets/,
// no build step, nothing loaded from elsewhere), and the read-only
// management endpoints (management.go) for what the Iceberg REST API does
// not expose. The console calls the API as the signed-in principal; it has
// no access of its own. See docs/console.md.
package console

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed assets
var assets embed.FS

// Path is where the console is served.
const Path = "/ui/"

// SignIn is what the sign-in page offers besides a pasted bearer token.
type SignIn struct {
	// OAuth offers client credentials at /v1/oauth/tokens.
	OAuth bool `json:"oauth"`
	// OIDC, when set, offers the authorization-code flow with PKCE.
	OIDC *OIDC `json:"oidc,omitempty"`
}

// OIDC is the issuer and public client of the authorization-code sign-in.
type OIDC struct {
	Issuer   string   `json:"issuer"`
	ClientID string   `json:"clientId"`
	Scopes   []string `json:"scopes"`
}

// Mount serves the console's files at /ui/ in front of api, which serves
// everything else (the API, and the management endpoints through its guard).
// The files and /ui/config.json are public: they hold no catalog data.
func Mount(api http.Handler, signIn SignIn) http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree always has assets/
	}
	files := http.StripPrefix(Path, http.FileServerFS(sub))
	cfg, _ := json.Marshal(signIn) // plain strings and bools always encode
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/ui":
			http.Redirect(w, r, Path, http.StatusMovedPermanently)
		case strings.HasPrefix(r.URL.Path, Path):
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
				return
			}
			h := w.Header()
			// The console's own files only: no inline script, no foreign
			// origin; connect-src allows the OIDC issuer for the token
			// exchange.
			h.Set("Content-Security-Policy", csp(signIn))
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Cache-Control", "no-cache")
			if r.URL.Path == Path+"config.json" {
				h.Set("Content-Type", "application/json")
				_, _ = w.Write(cfg)
				return
			}
			files.ServeHTTP(w, r)
		default:
			api.ServeHTTP(w, r)
		}
	})
}

func csp(s SignIn) string {
	connect := "'self'"
	if s.OIDC != nil {
		connect += " " + originOf(s.OIDC.Issuer)
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src " + connect +
		"; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
}

// originOf is scheme://host of a URL, for the CSP.
func originOf(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host
}
