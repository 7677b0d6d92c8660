package rest

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/ice-rest-catalog/ice/auth"
)

// The token-exchange grant and token type of RFC 8693, as the Java Iceberg
// client sends them when it refreshes its token.
const (
	grantTokenExchange   = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
)

// oauthTokenResponse is the spec's OAuthTokenResponse.
type oauthTokenResponse struct {
	AccessToken     string `json:"access_token"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	IssuedTokenType string `json:"issued_token_type"`
	Scope           string `json:"scope,omitempty"`
}

// oauthError is the spec's OAuthError.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// allowTokenRequest applies the rate limit per client id before the secret
// is checked: a bcrypt check costs a tenth of a second of CPU, and a
// guessing client gets a few tries a second. Every unknown id shares one
// bucket, so the limiter holds a bounded set of keys; unknown ids never
// get a token, so starving them costs nobody anything.
func (h *Handler) allowTokenRequest(w http.ResponseWriter, client string) bool {
	if h.tokenRate == nil {
		return true
	}
	key := client
	if !h.oauth.Known(client) {
		key = "\x00unknown"
	}
	ok, wait := h.tokenRate.allow(key)
	if ok {
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	writeJSON(w, http.StatusTooManyRequests, oauthError{"invalid_request",
		fmt.Sprintf("too many token requests for this client id (limits.tokenRequestsPerSecond); retry in %s", wait.Round(time.Millisecond))})
	return false
}

// oauthTokens serves POST /v1/oauth/tokens: the client-credentials grant,
// and token exchange of a token it issued (the Java client's refresh).
// Parameters are read from the form body and from the query string:
// ClickHouse sends them in the query with an empty body.
func (h *Handler) oauthTokens(w http.ResponseWriter, r *http.Request, _ *input) error {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		writeJSON(w, status, oauthError{"invalid_request", "cannot parse the form: " + err.Error()})
		return nil
	}
	if h.oauth == nil {
		writeJSON(w, http.StatusUnauthorized, oauthError{"invalid_client", "this catalog has no OAuth clients; use a bearer token"})
		return nil
	}
	scope := r.Form.Get("scope")
	var (
		res    auth.TokenResult
		err    error
		client string
	)
	switch grant := r.Form.Get("grant_type"); grant {
	case "client_credentials":
		client = r.Form.Get("client_id")
		secret := r.Form.Get("client_secret")
		if id, sec, ok := r.BasicAuth(); ok { // client_secret_basic (RFC 6749 2.3.1)
			client, secret = id, sec
		}
		if scope == "" {
			scope = "catalog" // the Java client's default, so the answer always names one
		}
		if !h.allowTokenRequest(w, client) {
			return nil
		}
		res, err = h.oauth.ClientCredentials(client, secret, scope)
	case grantTokenExchange:
		if t := r.Form.Get("subject_token_type"); t != "" && t != tokenTypeAccessToken {
			writeJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "subject_token_type must be " + tokenTypeAccessToken})
			return nil
		}
		client = "(token exchange)"
		res, err = h.oauth.Exchange(r.Form.Get("subject_token"), scope)
	case "":
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "grant_type is required"})
		return nil
	default:
		writeJSON(w, http.StatusBadRequest, oauthError{"unsupported_grant_type", "grant_type must be client_credentials or " + grantTokenExchange})
		return nil
	}
	switch {
	case errors.Is(err, auth.ErrInvalidClient):
		h.log.InfoContext(r.Context(), "audit", "principal", "oauth:"+client, "operation", "getToken", "outcome", "denied")
		writeJSON(w, http.StatusUnauthorized, oauthError{"invalid_client", "unknown client id or wrong secret"})
		return nil
	case errors.Is(err, auth.ErrInvalidGrant):
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_grant", err.Error()})
		return nil
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, oauthTokenResponse{AccessToken: res.AccessToken, TokenType: "bearer",
		ExpiresIn: res.ExpiresIn, IssuedTokenType: tokenTypeAccessToken, Scope: res.Scope})
	return nil
}
