package rest

import "github.com/ice-rest-catalog/ice/auth"

// isAdmin decides who may use the /admin/v1 endpoints, which read and
// rewrite the whole catalog: an authenticated bearer token that is not
// read-only. Anonymous clients never are, even with read-write anonymous
// access, since that is the zero-config default on loopback.
//
// This is the one place the rule lives, so that a finer notion of admin in
// auth/ can replace it.
func isAdmin(p auth.Principal, ok bool) bool {
	return ok && !p.ReadOnly && p.Name != "anonymous"
}
