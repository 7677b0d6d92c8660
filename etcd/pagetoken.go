package etcd

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"

	ice "github.com/ice-rest-catalog/ice"
)

// A page token is the last name a page returned, base64url-encoded so that
// any name survives a query string, then "." and a check: the first four
// bytes, in hex, of the SHA-256 of the listed prefix and the name. The next
// page starts right after the name. The check makes a token that this
// server did not hand out for this listing (a typo, a token of another
// namespace's listing, a value made up by a client) a 400 instead of a
// listing that silently starts somewhere else, or past the end.

func encodePageToken(prefix, lastName string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(lastName)) + "." + pageTokenCheck(prefix, lastName)
}

func pageTokenCheck(prefix, name string) string {
	sum := sha256.Sum256([]byte(prefix + "\x00" + name))
	return hex.EncodeToString(sum[:4])
}

// decodePageToken returns the name a token of the listing of prefix
// carries, or a 400. A name with "/" is refused even with a good check: it
// would climb a level.
func decodePageToken(prefix, token string) (string, error) {
	b64, check, ok := strings.Cut(token, ".")
	last, err := base64.RawURLEncoding.DecodeString(b64)
	if !ok || err != nil || len(last) == 0 || strings.Contains(string(last), "/") || check != pageTokenCheck(prefix, string(last)) {
		return "", ice.Errorf(ice.EINVALID, "invalid pageToken %q: pass back the next-page-token of the previous page of the same listing", truncateToken(token))
	}
	return string(last), nil
}

// truncateToken keeps an error message short whatever the client sent.
func truncateToken(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
