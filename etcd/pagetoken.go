package etcd

import (
	"encoding/base64"
	"strings"

	ice "github.com/ice-rest-catalog/ice"
)

// A page token is the last name a page returned, base64url-encoded so that
// any name survives a query string. The next page starts right after it.

func encodePageToken(lastName string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(lastName))
}

// decodePageToken returns the name a token carries. A token that is not
// one this server made is a 400: it must never start a listing somewhere
// unexpected, such as outside the listed prefix ("/" would climb a level).
func decodePageToken(token string) (string, error) {
	last, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(last) == 0 || strings.Contains(string(last), "/") {
		return "", ice.Errorf(ice.EINVALID, "invalid pageToken %q", token)
	}
	return string(last), nil
}
