package ice_test

import (
	"slices"
	"strings"
	"testing"

	ice "github.com/ice-rest-catalog/ice"
)

// FuzzTableIdent: an identifier that validates maps to etcd key path and
// text form that split back into exactly its levels and name, so no two
// valid identifiers share a key.
func FuzzTableIdent(f *testing.F) {
	for _, s := range []string{"db\x1ft", "a\x1fb\x1fc", "\x1ft", "a.b\x1ft", "a/b\x1ft", "a\x00\x1ft", "t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parts := strings.Split(s, "\x1f")
		id := ice.TableIdent{Namespace: parts[:len(parts)-1], Name: parts[len(parts)-1]}
		if ice.ValidateTableIdent(id) != nil {
			return
		}
		if got := strings.Split(id.Namespace.Path()+"/"+id.Name, "/"); !slices.Equal(got, parts) {
			t.Fatalf("%q: key path splits into %q", parts, got)
		}
		if got := strings.Split(id.String(), "."); !slices.Equal(got, parts) {
			t.Fatalf("%q: text form splits into %q", parts, got)
		}
	})
}
