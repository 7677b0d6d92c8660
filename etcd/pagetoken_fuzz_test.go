package etcd

import (
	"strings"
	"testing"

	ice "github.com/ice-rest-catalog/ice"
)

// FuzzPageToken: any name a listing can return survives its token, and a
// token from anywhere else is either such a name or a 400, never a panic.
func FuzzPageToken(f *testing.F) {
	for _, s := range []string{"t1", "events", "a-b_c", "ünï", "\x00", "YQ", "", "!!", "Lw", "a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s != "" && !strings.Contains(s, "/") {
			got, err := decodePageToken(encodePageToken(s))
			if err != nil || got != s {
				t.Fatalf("name %q came back from its token as %q, %v", s, got, err)
			}
		}
		name, err := decodePageToken(s)
		if err != nil {
			if ice.ErrorCode(err) != ice.EINVALID {
				t.Fatalf("token %q: %v, want EINVALID", s, err)
			}
			return
		}
		if name == "" || strings.Contains(name, "/") {
			t.Fatalf("token %q accepted as name %q", s, name)
		}
	})
}
