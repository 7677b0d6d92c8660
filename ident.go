package ice

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Name lengths, in bytes of UTF-8. A new namespace level, table or view
// name may have at most MaxNameBytes; an existing one is looked up if it has
// at most MaxNameRefBytes, which no object key can exceed (S3 keys are at
// most 1024 bytes), so names written by other catalogs stay reachable.
const (
	MaxNameBytes    = 255
	MaxNameRefBytes = 1024
)

// Namespace is a multi-level namespace, outermost level first.
type Namespace []string

func (ns Namespace) String() string { return strings.Join(ns, ".") }

// Path joins the levels with "/", the separator of etcd keys and of the
// default warehouse layout.
func (ns Namespace) Path() string { return strings.Join(ns, "/") }

// Parent returns the namespace one level up; the root's parent is the root.
func (ns Namespace) Parent() Namespace {
	if len(ns) == 0 {
		return nil
	}
	return ns[:len(ns)-1]
}

// TableIdent names a table or view.
type TableIdent struct {
	Namespace Namespace
	Name      string
}

func (id TableIdent) String() string {
	if len(id.Namespace) == 0 {
		return id.Name
	}
	return id.Namespace.String() + "." + id.Name
}

// ValidateNamespace enforces the rules that keep a namespace representable as
// an etcd key in the layout shared with the Java ice-rest-catalog: no empty
// level, and no "/" (the key separator) or "." (the Java level separator).
func ValidateNamespace(ns Namespace) error {
	if len(ns) == 0 {
		return Errorf(EINVALID, "namespace must have at least one level")
	}
	for _, level := range ns {
		if err := validateName("namespace level", level); err != nil {
			return err
		}
	}
	return nil
}

// ValidateTableIdent applies ValidateNamespace and the same rules to the name.
func ValidateTableIdent(id TableIdent) error {
	if err := ValidateNamespace(id.Namespace); err != nil {
		return err
	}
	return validateName("table name", id.Name)
}

// ValidateNewNamespace applies the rules for a name being created to the
// namespace's last level, and the reference rules to its parents, which
// exist already (and may predate these rules).
func ValidateNewNamespace(ns Namespace) error {
	if err := ValidateNamespace(ns); err != nil {
		return err
	}
	return validateNewName("namespace level", ns[len(ns)-1])
}

// ValidateNewTableIdent applies the rules for a name being created to a
// new table's or view's name: create, register, rename's destination.
func ValidateNewTableIdent(id TableIdent) error {
	if err := ValidateTableIdent(id); err != nil {
		return err
	}
	return validateNewName("name", id.Name)
}

// validateName holds the rules for any name a request refers to: they keep
// it representable as one etcd key level in the layout shared with the
// Java server, and out of log and terminal forgery.
func validateName(what, s string) error {
	switch {
	case s == "":
		return Errorf(EINVALID, "%s must not be empty", what)
	case len(s) > MaxNameRefBytes:
		return Errorf(EINVALID, "%s is %d bytes long; no name has more than %d bytes", what, len(s), MaxNameRefBytes)
	case !utf8.ValidString(s):
		return Errorf(EINVALID, "%s %q is not valid UTF-8", what, s)
	case strings.ContainsAny(s, "/."):
		return Errorf(EINVALID, "%s %q must not contain '/' or '.': '/' separates etcd key levels and '.' separates namespace levels", what, s)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		// NUL, newlines, escapes: they would forge lines in logs and
		// terminals, and no engine needs them in a name.
		return Errorf(EINVALID, "%s %q must not contain control characters", what, s)
	}
	return nil
}

// validateNewName holds the stricter rules for a name being created: one
// that looks like another name must not be creatable. Letters of every
// script, digits, punctuation, symbols and inner ASCII spaces are fine.
// Refused are: more than MaxNameBytes; leading or trailing whitespace;
// whitespace other than U+0020; invisible format characters (zero-width
// spaces and joiners, bidirectional overrides and isolates, the byte order
// mark, soft hyphens); private-use characters; U+FFFD, which JSON decoding
// puts where bytes were not UTF-8; and text not in Unicode
// normalization form NFC, where "é" could be one code point or two.
func validateNewName(what, s string) error {
	if len(s) > MaxNameBytes {
		return Errorf(EINVALID, "%s is %d bytes long; a new name has at most %d bytes", what, len(s), MaxNameBytes)
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return Errorf(EINVALID, "%s %q must not begin or end with whitespace", what, s)
	}
	for _, r := range s {
		switch {
		case r != ' ' && (unicode.IsSpace(r) || unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp)):
			return Errorf(EINVALID, "%s %q contains the whitespace character %U; only the ASCII space is allowed inside a name", what, s, r)
		case unicode.Is(unicode.Cf, r):
			return Errorf(EINVALID, "%s %q contains the invisible format character %U (zero-width or bidirectional control)", what, s, r)
		case r == utf8.RuneError:
			return Errorf(EINVALID, "%s %q contains U+FFFD, the replacement character: it was not valid UTF-8 on its way here", what, s)
		case unicode.Is(unicode.Co, r):
			return Errorf(EINVALID, "%s %q contains the private-use character %U", what, s, r)
		}
	}
	if !norm.NFC.IsNormalString(s) {
		return Errorf(EINVALID, "%s %q is not in Unicode normalization form NFC; send its NFC form (%q)", what, s, norm.NFC.String(s))
	}
	return nil
}
