package ice

import (
	"strings"
	"unicode"
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

func validateName(what, s string) error {
	switch {
	case s == "":
		return Errorf(EINVALID, "%s must not be empty", what)
	case strings.ContainsAny(s, "/."):
		return Errorf(EINVALID, "%s %q must not contain '/' or '.': '/' separates etcd key levels and '.' separates namespace levels", what, s)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		// NUL, newlines, escapes: they would forge lines in logs and
		// terminals, and no engine needs them in a name.
		return Errorf(EINVALID, "%s %q must not contain control characters", what, s)
	}
	return nil
}

// NamespaceFromClient reads a namespace a client sent, in a request body or
// a path. A single element holding dots is taken as the levels it names:
// ClickHouse (26.5, 26.7) sends the nested namespace ns.inner as
// ["ns.inner"] when it creates a table there, and as "ns.inner" (not
// "ns%1Finner") in the path of DROP TABLE. A level can never contain '.'
// (ValidateNamespace), so ["ns.inner"] has no other meaning. See
// docs/clients.md.
func NamespaceFromClient(levels []string) Namespace {
	if len(levels) == 1 && strings.Contains(levels[0], ".") {
		return Namespace(strings.Split(levels[0], "."))
	}
	return Namespace(levels)
}
