package rest

import "github.com/ice-rest-catalog/ice/auth"

// isAdmin decides who may use the /admin/v1 endpoints, which read and
// rewrite the whole catalog: a principal with catalog-wide admin access
// under the authorization rules (with no rules, any read-write principal).
// Anonymous clients never are, even with read-write anonymous access, since
// that is the zero-config default on loopback.
func (h *Handler) isAdmin(p auth.Principal, ok bool) bool {
	return ok && p.Name != "anonymous" && h.authz.Allowed(p, auth.Admin, nil)
}
