package ice

import (
	"fmt"
	"net/url"
	"strings"
)

// Location is a storage location as the catalog compares it: a scheme, an
// authority (the S3 bucket, or the host part of a file:// URI) and a key path
// without leading or trailing slashes.
//
// Locations are literal. Iceberg writers and S3 clients treat an object key
// as an opaque string (Java's S3FileIO, iceberg-go's blobfs, pyiceberg), so
// "s3://b/ns/x%41" names the key "ns/x%41", not "ns/xA". The catalog reads,
// writes, signs and deletes with the same literal keys, which keeps the
// mapping from table names to directories injective. A consumer that
// decodes %-escapes could still see a different key, so every check that
// confines a path to a table is made twice: on the literal key and on its
// decoded form. Overlaps between tables compare literal keys.
type Location struct {
	Scheme    string // lower case; s3a and s3n are s3
	Authority string // lower case
	Path      string // literal, no leading or trailing "/"
	decoded   string // Path with %-escapes decoded (== Path when it has none)
}

// ParseLocation parses and checks an absolute location. It refuses, with
// EINVALID, anything the catalog cannot confine: no scheme (a bare or
// relative path), a scheme other than s3, s3a, s3n or file, an s3 location
// without a bucket, and a path with an empty, "." or ".." segment (in its
// literal or its decoded form), a backslash, a control character, a query
// or a fragment. Trailing slashes are dropped.
func ParseLocation(s string) (Location, error) {
	bad := func(why string) (Location, error) {
		return Location{}, Errorf(EINVALID, "location %q %s", s, why)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || scheme == "" {
		return bad("has no scheme: locations must be absolute URIs such as s3://bucket/prefix or file:///dir")
	}
	switch strings.ToLower(scheme) {
	case "s3", "s3a", "s3n":
		scheme = "s3"
	case "file":
		scheme = "file"
	default:
		return bad("has an unsupported scheme: only s3://, s3a://, s3n:// and file:// are allowed")
	}
	if strings.ContainsAny(rest, "?#\\") {
		return bad("must not contain '?', '#' or '\\'")
	}
	for _, r := range rest {
		if r < 0x20 || r == 0x7f {
			return bad("must not contain control characters")
		}
	}
	authority, p, _ := strings.Cut(rest, "/")
	authority = strings.ToLower(authority)
	if scheme == "s3" && authority == "" {
		return bad("names no bucket")
	}
	if strings.ContainsAny(authority, "%@:") || authority == "." || authority == ".." {
		return bad("has an invalid bucket or host")
	}
	p = strings.TrimRight(p, "/")
	l := Location{Scheme: scheme, Authority: authority, Path: p, decoded: p}
	if strings.Contains(p, "%") {
		d, err := url.PathUnescape(p)
		if err != nil {
			return bad("has a malformed %-escape")
		}
		l.decoded = d
	}
	for _, form := range []string{l.Path, l.decoded} {
		if form == "" {
			continue
		}
		for _, seg := range strings.Split(form, "/") {
			switch seg {
			case "":
				return bad("has an empty path segment ('//')")
			case ".", "..":
				return bad("has a '.' or '..' path segment")
			}
		}
		for _, r := range form {
			if r < 0x20 || r == 0x7f || r == '\\' {
				return bad("has a control character or backslash in its decoded form")
			}
		}
	}
	return l, nil
}

// String is the canonical form: scheme://authority/path.
func (l Location) String() string { return l.Scheme + "://" + l.Authority + "/" + l.Path }

// IsRoot reports whether l is a whole bucket or the root of a file system.
func (l Location) IsRoot() bool { return l.Path == "" }

// Within reports whether l lies strictly below parent, in both the literal
// and the decoded form: "b/ns/t/x" is within "b/ns/t", "b/ns/t" and
// "b/ns/t2" are not.
func (l Location) Within(parent Location) bool {
	if l.Scheme != parent.Scheme || l.Authority != parent.Authority {
		return false
	}
	return below(l.Path, parent.Path) && below(l.decoded, parent.decoded)
}

// WithinOrAt is Within, or the same location.
func (l Location) WithinOrAt(parent Location) bool {
	return l.Within(parent) || (l.Scheme == parent.Scheme && l.Authority == parent.Authority &&
		l.Path == parent.Path && l.decoded == parent.decoded)
}

// Overlaps reports whether one of l and o is at or below the other: two
// tables there would share files. Keys are compared literally, as every
// store and FileIO the catalog and its clients use reads them (and as the
// store's location index holds them): "x%41" and "xA" do not overlap.
func (l Location) Overlaps(o Location) bool {
	if l.Scheme != o.Scheme || l.Authority != o.Authority {
		return false
	}
	return atOrBelow(l.Path, o.Path) || atOrBelow(o.Path, l.Path)
}

// Ancestors returns the canonical forms of every location strictly above l,
// the bucket (or file system) root first.
func (l Location) Ancestors() []string {
	out := []string{l.Scheme + "://" + l.Authority + "/"}
	if l.Path == "" {
		return nil
	}
	segs := strings.Split(l.Path, "/")
	for i := 1; i < len(segs); i++ {
		out = append(out, l.Scheme+"://"+l.Authority+"/"+strings.Join(segs[:i], "/")+"/")
	}
	return out
}

// Key is the canonical form with a trailing slash, so that a prefix of
// keys is a prefix of locations at segment boundaries.
func (l Location) Key() string {
	if l.Path == "" {
		return l.Scheme + "://" + l.Authority + "/"
	}
	return l.Scheme + "://" + l.Authority + "/" + l.Path + "/"
}

func below(p, parent string) bool {
	if parent == "" {
		return p != ""
	}
	return strings.HasPrefix(p, parent+"/")
}

func atOrBelow(p, parent string) bool { return p == parent || below(p, parent) }

// LocationRule decides which locations a table, view or namespace may have,
// and which paths may be touched on a table's behalf. It is the one place
// where locations are confined; create, register, commit, sign, vend,
// purge and maintenance all ask it.
//
// A location is acceptable when it is:
//   - under its namespace's area in the warehouse, <warehouse>/<ns levels>/,
//     or under its namespace's location property when that property is
//     itself acceptable for the namespace; or
//   - under one of the prefixes the configuration allows
//     (allowedLocations), for tables migrated from elsewhere.
//
// Never a bucket or file system root, never the area itself. Overlaps
// between tables are the store's to refuse (it sees them all atomically);
// Location.Overlaps and Location.Key serve it.
type LocationRule struct {
	warehouse Location
	allowed   []Location
}

// NewLocationRule builds the rule from the warehouse root and the allowed
// prefixes of the configuration.
func NewLocationRule(warehouse string, allowed []string) (*LocationRule, error) {
	wh, err := ParseLocation(warehouse)
	if err != nil {
		return nil, fmt.Errorf("warehouse: %w", err)
	}
	r := &LocationRule{warehouse: wh}
	for _, a := range allowed {
		l, err := ParseLocation(a)
		if err != nil {
			return nil, fmt.Errorf("allowedLocations: %w", err)
		}
		if l.IsRoot() && l.Scheme == "file" {
			return nil, Errorf(EINVALID, "allowedLocations: %q would allow the whole file system", a)
		}
		r.allowed = append(r.allowed, l)
	}
	return r, nil
}

// Warehouse is the warehouse root.
func (r *LocationRule) Warehouse() Location { return r.warehouse }

// NamespaceArea is where the tables of ns go by default:
// <warehouse>/<ns levels>, literally.
func (r *LocationRule) NamespaceArea(ns Namespace) string {
	return strings.TrimSuffix(r.warehouse.String(), "/") + "/" + ns.Path()
}

// DefaultTableLocation places a table as Iceberg's catalogs do: under its
// namespace's location property if that is acceptable, else in its
// namespace's area. Names are joined literally, never escaped.
func (r *LocationRule) DefaultTableLocation(id TableIdent, nsProps map[string]string) string {
	if nsLoc := strings.TrimRight(nsProps["location"], "/"); nsLoc != "" && r.CheckNamespaceLocation(id.Namespace, nsLoc) == nil {
		return nsLoc + "/" + id.Name
	}
	return r.NamespaceArea(id.Namespace) + "/" + id.Name
}

func (r *LocationRule) inAllowed(l Location) bool {
	for _, a := range r.allowed {
		if l.Within(a) {
			return true
		}
	}
	return false
}

// CheckNamespaceLocation checks a namespace's location property: inside
// the namespace's own area of the warehouse (or that area itself), or under
// an allowed prefix.
func (r *LocationRule) CheckNamespaceLocation(ns Namespace, loc string) error {
	l, err := ParseLocation(loc)
	if err != nil {
		return err
	}
	area, err := ParseLocation(r.NamespaceArea(ns))
	if err != nil {
		return err
	}
	if l.WithinOrAt(area) || r.inAllowed(l) {
		return nil
	}
	return Errorf(EINVALID, "namespace %s: location %q is outside the namespace's area %s/ and outside the allowed locations", ns, loc, area)
}

// CheckTableLocation checks the location of the table (or view) id, given
// its namespace's properties, and returns it parsed.
func (r *LocationRule) CheckTableLocation(id TableIdent, nsProps map[string]string, loc string) (Location, error) {
	l, err := ParseLocation(loc)
	if err != nil {
		return Location{}, err
	}
	if l.IsRoot() {
		return Location{}, Errorf(EINVALID, "location %q of %s is a bucket or file system root", loc, id)
	}
	if area, err := ParseLocation(r.NamespaceArea(id.Namespace)); err == nil && l.Within(area) {
		return l, nil
	}
	if nsLoc := nsProps["location"]; nsLoc != "" && r.CheckNamespaceLocation(id.Namespace, nsLoc) == nil {
		if nl, err := ParseLocation(nsLoc); err == nil && l.Within(nl) {
			return l, nil
		}
	}
	if r.inAllowed(l) {
		return l, nil
	}
	return Location{}, Errorf(EINVALID, "location %q of %s must lie below its namespace's area %s/ (or its location property) or below an allowed location", loc, id, r.NamespaceArea(id.Namespace))
}

// CheckStored checks a location already in the catalog (a stored table's,
// perhaps written by another catalog) before its files are signed, vended
// or deleted: it must parse and lie inside the warehouse or an allowed
// prefix, and not be a root. The namespace rule is not applied: tables
// the Java server placed by a namespace property stay usable.
func (r *LocationRule) CheckStored(loc string) (Location, error) {
	l, err := ParseLocation(loc)
	if err != nil {
		return Location{}, err
	}
	if l.IsRoot() || !(l.Within(r.warehouse) || r.inAllowed(l)) {
		return Location{}, Errorf(EINVALID, "table location %q is outside the warehouse %s and the allowed locations", loc, r.warehouse)
	}
	return l, nil
}

// CheckPath checks that path lies strictly below the table location
// tableLoc (already checked), in its literal and decoded forms: the one
// test before any file is written, signed, vended or deleted for a table.
//
// Writers on a local file system name files in two more ways, which are
// accepted as file:// paths inside a file:// table location: a bare
// absolute path ("/srv/wh/ns/t/data/f") and Hadoop's "file:/srv/...".
func CheckPath(tableLoc Location, path string) error {
	if tableLoc.Scheme == "file" && tableLoc.Authority == "" {
		switch {
		case strings.HasPrefix(path, "/"):
			path = "file://" + path
		case strings.HasPrefix(path, "file:/") && !strings.HasPrefix(path, "file://"):
			path = "file://" + path[len("file:"):]
		}
	}
	p, err := ParseLocation(path)
	if err != nil {
		return err
	}
	if !p.Within(tableLoc) {
		return Errorf(EINVALID, "path %q is outside the table's location %s", path, tableLoc)
	}
	return nil
}
