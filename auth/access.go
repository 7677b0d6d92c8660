package auth

import (
	"fmt"
	"path"
	"slices"
	"strings"

	ice "github.com/ice-rest-catalog/ice"
)

// Level is how much a principal may do on a namespace. Each level includes
// the ones below it.
type Level int

const (
	None  Level = iota
	Read        // list, load, check existence, report metrics, load credentials
	Write       // create, commit, drop, rename, register inside the namespace
	Admin       // catalog-wide operations: create or drop a top-level namespace
)

func (l Level) String() string {
	switch l {
	case Read:
		return "read"
	case Write:
		return "write"
	case Admin:
		return "admin"
	}
	return "none"
}

// ParseLevel reads "read", "write" or "admin".
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(s) {
	case "read":
		return Read, nil
	case "write":
		return Write, nil
	case "admin":
		return Admin, nil
	}
	return None, fmt.Errorf("access %q is not one of read, write, admin", s)
}

// Rule grants Access on the namespaces matching any of Namespaces to the
// principals matching any of Principals.
//
// A principal entry is "*" (everyone, anonymous included), "anonymous",
// "token:<name>", "oauth:<client id>", "oidc:<subject>" or "group:<group>"
// (an OIDC group claim, or a group given to an OAuth client).
//
// A namespace pattern is dot-separated levels, each a path.Match glob
// ("sales", "team_*.raw"). It matches a namespace whose first levels match
// it, so a grant on "sales" covers "sales.eu" and every table below. "*"
// alone matches every namespace. Admin rules are catalog-wide: their
// namespaces must be omitted or "*".
type Rule struct {
	Principals []string
	Namespaces []string
	Access     Level
}

type rule struct {
	principals []string
	patterns   [][]string // nil entry: every namespace
	access     Level
}

// Authorizer answers what a principal may do. With no rules it keeps the
// behaviour of the Java ice-rest-catalog: every principal may do everything,
// except that a read-only one may only read.
type Authorizer struct {
	rules []rule
}

// NewAuthorizer checks rules.
func NewAuthorizer(rules []Rule) (*Authorizer, error) {
	a := &Authorizer{}
	for i, r := range rules {
		if len(r.Principals) == 0 {
			return nil, fmt.Errorf("authorization rule %d names no principals", i+1)
		}
		for _, p := range r.Principals {
			if err := checkPrincipalPattern(p); err != nil {
				return nil, fmt.Errorf("authorization rule %d: %w", i+1, err)
			}
		}
		if r.Access < Read || r.Access > Admin {
			return nil, fmt.Errorf("authorization rule %d: access must be read, write or admin", i+1)
		}
		nss := r.Namespaces
		if len(nss) == 0 {
			nss = []string{"*"}
		}
		out := rule{principals: r.Principals, access: r.Access}
		for _, n := range nss {
			if n == "*" {
				out.patterns = append(out.patterns, nil)
				continue
			}
			if r.Access == Admin {
				return nil, fmt.Errorf("authorization rule %d: admin is catalog-wide; omit namespaces or use \"*\", not %q", i+1, n)
			}
			levels := strings.Split(n, ".")
			for _, l := range levels {
				if _, err := path.Match(l, ""); err != nil || l == "" {
					return nil, fmt.Errorf("authorization rule %d: namespace pattern %q is not dot-separated globs", i+1, n)
				}
			}
			out.patterns = append(out.patterns, levels)
		}
		a.rules = append(a.rules, out)
	}
	return a, nil
}

func checkPrincipalPattern(p string) error {
	if p == "*" || p == "anonymous" {
		return nil
	}
	kind, name, ok := strings.Cut(p, ":")
	switch {
	case !ok && p == "token":
		return nil // the unnamed bearer token
	case !ok || name == "":
		return fmt.Errorf("principal %q must be *, anonymous, token:<name>, oauth:<id>, oidc:<subject> or group:<name>", p)
	}
	switch kind {
	case "token", "oauth", "oidc", "group":
		return nil
	}
	return fmt.Errorf("principal %q has unknown kind %q (token, oauth, oidc, group)", p, kind)
}

// Level is what p may do on ns. A nil ns asks about the catalog as a whole:
// only grants on "*" count.
func (a *Authorizer) Level(p Principal, ns ice.Namespace) Level {
	var lvl Level
	if a == nil || len(a.rules) == 0 {
		lvl = Admin
	} else {
		for _, r := range a.rules {
			if r.access > lvl && r.matchesPrincipal(p) && r.matchesNamespace(ns) {
				lvl = r.access
			}
		}
	}
	if p.ReadOnly && lvl > Read {
		lvl = Read
	}
	return lvl
}

// Highest is the most p may do anywhere: the bar below which a request
// that names its namespaces in the body is refused without reading it.
func (a *Authorizer) Highest(p Principal) Level {
	var lvl Level
	if a == nil || len(a.rules) == 0 {
		lvl = Admin
	} else {
		for _, r := range a.rules {
			if r.access > lvl && r.matchesPrincipal(p) {
				lvl = r.access
			}
		}
	}
	if p.ReadOnly && lvl > Read {
		lvl = Read
	}
	return lvl
}

// Allowed reports whether p has at least need on ns.
func (a *Authorizer) Allowed(p Principal, need Level, ns ice.Namespace) bool {
	return a.Level(p, ns) >= need
}

// Any reports whether p holds any grant at all: the bar for listing the
// top-level namespace names.
func (a *Authorizer) Any(p Principal) bool {
	if a == nil || len(a.rules) == 0 {
		return true
	}
	for _, r := range a.rules {
		if r.matchesPrincipal(p) {
			return true
		}
	}
	return false
}

func (r rule) matchesPrincipal(p Principal) bool {
	for _, want := range r.principals {
		switch {
		case want == "*", want == p.Name:
			return true
		case strings.HasPrefix(want, "group:") && slices.Contains(p.Groups, want[len("group:"):]):
			return true
		}
	}
	return false
}

func (r rule) matchesNamespace(ns ice.Namespace) bool {
	for _, pat := range r.patterns {
		if pat == nil {
			return true
		}
		if len(ns) < len(pat) {
			continue
		}
		ok := true
		for i, glob := range pat {
			if m, _ := path.Match(glob, ns[i]); !m {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
