package ice

import (
	"strings"
	"testing"
)

func TestParseLocation(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" means refused
	}{
		{"s3://lake/wh/ns/t", "s3://lake/wh/ns/t"},
		{"S3A://LAKE/wh/ns/t///", "s3://lake/wh/ns/t"},
		{"s3n://lake/wh/ns/t/", "s3://lake/wh/ns/t"},
		{"file:///srv/wh/ns/t", "file:///srv/wh/ns/t"},
		{"file://warehouse/ns/t", "file://warehouse/ns/t"},
		{"s3://lake/wh/sp ace %25 ü€/t", "s3://lake/wh/sp ace %25 ü€/t"},
		{"s3://lake", "s3://lake/"},
		{"/ns/t/", ""},
		{"ns/t", ""},
		{"", ""},
		{"hdfs://nn/wh/t", ""},
		{"s3:///wh/t", ""},
		{"s3://lake/wh/../b/t", ""},
		{"s3://lake/wh/./t", ""},
		{"s3://lake/wh//t", ""},
		{"s3://lake/wh/%2e%2e/b", ""},
		{"s3://lake/wh/a%2F%2Fb", ""},
		{"s3://lake/wh/a%2f..%2fb", ""},
		{"s3://lake/wh/%zz", ""},
		{"s3://lake/wh/t?x=1", ""},
		{"s3://lake/wh/t#f", ""},
		{"s3://lake/wh\\t", ""},
		{"s3://lake/wh/t\n", ""},
		{"s3://lake/wh/%0a", ""},
		{"s3://us@lake/wh", ""},
		{"file://../etc/passwd", ""},
	} {
		l, err := ParseLocation(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("ParseLocation(%q) = %s, want refused", tc.in, l)
		case tc.want == "" && ErrorCode(err) != EINVALID:
			t.Errorf("ParseLocation(%q): code %s, want %s", tc.in, ErrorCode(err), EINVALID)
		case tc.want != "" && err != nil:
			t.Errorf("ParseLocation(%q): %v", tc.in, err)
		case tc.want != "" && l.String() != tc.want:
			t.Errorf("ParseLocation(%q) = %s, want %s", tc.in, l, tc.want)
		}
	}
}

func mustLoc(t *testing.T, s string) Location {
	t.Helper()
	l, err := ParseLocation(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLocationOverlapsAndWithin(t *testing.T) {
	for _, tc := range []struct {
		a, b            string
		overlap, within bool // within: a within b
	}{
		{"s3://lake/wh/a/t", "s3://lake/wh/a/t", true, false},
		{"s3://lake/wh/a/t/x", "s3://lake/wh/a/t", true, true},
		{"s3://lake/wh/a/t2", "s3://lake/wh/a/t", false, false},
		{"s3a://LAKE/wh/a/t/x", "s3://lake/wh/a/t/", true, true},
		{"s3://other/wh/a/t", "s3://lake/wh/a/t", false, false},
		{"file:///wh/a/t", "s3://wh/a/t", false, false},
		// literal keys: distinct directories; but a path is within a
		// table only if it is in both forms
		{"s3://lake/wh/a/x%41", "s3://lake/wh/a/xA", false, false},
		{"s3://lake/wh/a/x%41/f", "s3://lake/wh/a/xA", false, false},
		{"s3://lake/wh/a/x%41/f", "s3://lake/wh/a/x%41", true, true},
		{"s3://lake/wh/a/x%2541", "s3://lake/wh/a/xA", false, false},
		{"s3://lake/wh/a/t", "s3://lake/", true, true},
	} {
		a, b := mustLoc(t, tc.a), mustLoc(t, tc.b)
		if got := a.Overlaps(b); got != tc.overlap {
			t.Errorf("%s overlaps %s = %v, want %v", a, b, got, tc.overlap)
		}
		if got := b.Overlaps(a); got != tc.overlap {
			t.Errorf("%s overlaps %s = %v, want %v (symmetry)", b, a, got, tc.overlap)
		}
		if got := a.Within(b); got != tc.within {
			t.Errorf("%s within %s = %v, want %v", a, b, got, tc.within)
		}
	}
}

func TestLocationRule(t *testing.T) {
	r, err := NewLocationRule("s3://lake/wh/", []string{"s3://lake/old/"})
	if err != nil {
		t.Fatal(err)
	}
	a := TableIdent{Namespace: Namespace{"a"}, Name: "t"}
	ab := TableIdent{Namespace: Namespace{"a", "b"}, Name: "t"}
	for _, tc := range []struct {
		id    TableIdent
		props map[string]string
		loc   string
		ok    bool
	}{
		{a, nil, "s3://lake/wh/a/t", true},
		{a, nil, "s3://lake/wh/a/t/deeper", true},
		{a, nil, "s3://lake/wh/a/other-name", true},
		{ab, nil, "s3://lake/wh/a/b/t", true},
		{a, nil, "s3://lake/wh/b/secret", false},   // another namespace's area
		{a, nil, "s3://lake/wh/a", false},          // the area itself
		{a, nil, "s3://lake/wh", false},            // the warehouse
		{a, nil, "s3://lake", false},               // the bucket
		{a, nil, "s3://other/private", false},      // another bucket
		{a, nil, "s3://lake/wh/a/../b/t", false},   // dot segments
		{a, nil, "s3://lake/wh/a/%2e%2e/b", false}, // encoded dot segments
		{a, nil, "s3://lake/wh/ab/t", false},       // a sibling sharing a prefix
		{a, nil, "/a/t/", false},                   // scheme-less (ClickHouse)
		{a, nil, "S3://LAKE/wh/a/t", true},         // case of scheme and host
		{a, nil, "s3://lake/old/t", true},          // allowed prefix
		{a, nil, "s3://lake/old", false},           // the allowed prefix itself
		{a, nil, "s3://lake/older/t", false},
		{a, map[string]string{"location": "s3://lake/wh/a/custom"}, "s3://lake/wh/a/custom/t", true},
		{a, map[string]string{"location": "s3://lake/old/a"}, "s3://lake/old/a/t", true},
		// a namespace property pointing elsewhere grants nothing
		{a, map[string]string{"location": "s3://lake/wh/b"}, "s3://lake/wh/b/t", false},
		{a, map[string]string{"location": "s3://other/x"}, "s3://other/x/t", false},
	} {
		_, err := r.CheckTableLocation(tc.id, tc.props, tc.loc)
		if tc.ok && err != nil {
			t.Errorf("CheckTableLocation(%s, %v, %q): %v", tc.id, tc.props, tc.loc, err)
		}
		if !tc.ok && ErrorCode(err) != EINVALID {
			t.Errorf("CheckTableLocation(%s, %v, %q) = %v, want EINVALID", tc.id, tc.props, tc.loc, err)
		}
	}
	if got := r.DefaultTableLocation(a, map[string]string{"location": "s3://other/x"}); got != "s3://lake/wh/a/t" {
		t.Errorf("default location with a foreign namespace location = %s", got)
	}
	odd := TableIdent{Namespace: Namespace{"sp ace %25 ü€"}, Name: "tä ble %41"}
	if got := r.DefaultTableLocation(odd, nil); got != "s3://lake/wh/sp ace %25 ü€/tä ble %41" {
		t.Errorf("default location is not literal: %s", got)
	}
	if _, err := NewLocationRule("file:///srv/wh", []string{"file:///"}); err == nil {
		t.Error("allowedLocations file:/// accepted")
	}
}

func TestCheckPath(t *testing.T) {
	tl := mustLoc(t, "s3://lake/wh/a/t")
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"s3://lake/wh/a/t/data/f.parquet", true},
		{"s3a://lake/wh/a/t/metadata/snap.avro", true},
		{"s3://lake/wh/a/t", false},
		{"s3://lake/wh/a/t2/f", false},
		{"s3://lake/wh/a/t/../../b/t/f", false},
		{"s3://lake/wh/a/t/%2e%2e/%2e%2e/b/f", false},
		{"s3://lake/wh/a/t//x", false},
		{"s3://lake/wh/b/t/data/f.parquet", false},
		{"s3://other/wh/a/t/f", false},
		{"file:///srv/outside/victim.txt", false},
		{"/wh/a/t/f", false},
		{"wh/a/t/f", false},
	} {
		err := CheckPath(tl, tc.path)
		if tc.ok != (err == nil) {
			t.Errorf("CheckPath(%s, %q) = %v, want ok=%v", tl, tc.path, err, tc.ok)
		}
	}
}

// FuzzParseLocation holds the normaliser to its promises: whatever it
// accepts has no dot or empty segment in either form, is stable when
// parsed again, and lies within exactly the locations it is a prefix of.
func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{"s3://lake/wh/a/t", "s3://lake/wh/%2e%2e/x", "file:///a//b", "S3A://B/x%41/", "s3://b/a/../c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLocation(s)
		if err != nil {
			return
		}
		for _, form := range []string{l.Path, l.decoded} {
			if form == "" {
				continue
			}
			for _, seg := range strings.Split(form, "/") {
				if seg == "" || seg == "." || seg == ".." {
					t.Fatalf("%q accepted with segment %q in %q", s, seg, form)
				}
			}
		}
		again, err := ParseLocation(l.String())
		if err != nil || again != l {
			t.Fatalf("%q: canonical form %q parses to %+v, %v", s, l.String(), again, err)
		}
		if l.Within(l) {
			t.Fatalf("%q within itself", s)
		}
		if !l.Overlaps(l) {
			t.Fatalf("%q does not overlap itself", s)
		}
	})
}
