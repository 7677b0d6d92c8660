package etcd

import (
	"strings"
	"testing"

	ice "github.com/ice-rest-catalog/ice"
)

// FuzzPageToken: any name a listing can return survives its token, the
// token of one listing is refused by another, and a token from anywhere
// else is either such a name or a 400, never a panic.
func FuzzPageToken(f *testing.F) {
	for _, s := range []string{"t1", "events", "a-b_c", "ünï", "\x00", "YQ", "", "!!", "Lw", "a/b", "YQ.00000000"} {
		f.Add(s)
	}
	const prefix, other = "t/db/", "t/db2/"
	f.Fuzz(func(t *testing.T, s string) {
		if s != "" && !strings.Contains(s, "/") {
			tok := encodePageToken(prefix, s)
			got, err := decodePageToken(prefix, tok)
			if err != nil || got != s {
				t.Fatalf("name %q came back from its token as %q, %v", s, got, err)
			}
			if _, err := decodePageToken(other, tok); ice.ErrorCode(err) != ice.EINVALID {
				t.Fatalf("the token of name %q in %s was accepted in %s: %v", s, prefix, other, err)
			}
		}
		name, err := decodePageToken(prefix, s)
		if err != nil {
			if ice.ErrorCode(err) != ice.EINVALID {
				t.Fatalf("token %q: %v, want EINVALID", s, err)
			}
			return
		}
		if name == "" || strings.Contains(name, "/") || encodePageToken(prefix, name) != s {
			t.Fatalf("token %q accepted as name %q", s, name)
		}
	})
}
