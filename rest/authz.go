package rest

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"strings"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/auth"
)

// oauthTokensPath is the token endpoint: clients reach it before they have
// a token, so it is the one path served without authentication.
const oauthTokensPath = "/v1/oauth/tokens"

// authenticate finds the request's principal and puts it in the context.
// It also refuses paths that are not in canonical form: ServeMux would
// answer them with a redirect to the cleaned path, which for "a/../b"
// points a write at a namespace the client did not name.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
	if p := r.URL.Path; p != path.Clean(p) || strings.ContainsAny(p, "\\") {
		return r, ice.Errorf(ice.EINVALID, "request path %q is not in canonical form", p)
	}
	if r.URL.Path == oauthTokensPath {
		return r, nil
	}
	who, err := h.auth.Authenticate(r.Context(), r.Header.Get("Authorization"))
	if err != nil {
		if errors.Is(err, auth.ErrUnavailable) {
			h.log.WarnContext(r.Context(), "token verification unavailable", "err", err)
			return r, ice.Errorf(ice.EUNAVAILABLE, "%w", err)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// No route has matched yet, so the operation is the request line.
			h.log.InfoContext(r.Context(), "audit", "principal", "unauthenticated", "operation", r.Method+" "+r.URL.Path,
				"identifier", "", "outcome", "unauthenticated", "reason", err.Error())
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="ice-rest-catalog"`)
		return r, ice.Errorf(ice.EUNAUTHORIZED, "%w", err)
	}
	return r.WithContext(auth.WithPrincipal(r.Context(), who)), nil
}

// target says where a route's namespaces come from.
type target int

const (
	onPath         target = iota // the {namespace} path segment
	onCatalog                    // nothing: any authenticated principal
	onParent                     // listNamespaces: ?parent=, else any grant
	onNewNamespace               // createNamespace: the body's namespace
	onOldNamespace               // dropNamespace: the path's namespace
	onRename                     // rename: the body's source and destination
	onTransaction                // the body's table-changes identifiers
	public                       // the token endpoint
)

// access is what one route needs. Creating or dropping a top-level
// namespace changes the catalog as a whole and needs admin; below the top,
// both need write on the namespace itself.
type access struct {
	op     string
	level  auth.Level
	target target
}

func (a access) audited() bool { return a.level >= auth.Write }

// recorded reports whether an Idempotency-Key's answer is kept for the
// route: only writes, which change the catalog. Reads, and the POSTs that
// only read (metrics, planning, signing) run again on a retry with no
// effect to repeat, and the token endpoint's answers are secrets.
func (a access) recorded() bool { return a.level >= auth.Write && a.target != public }

// inBody reports whether the namespaces to authorize are in the body.
func (a access) inBody() bool {
	return a.target == onNewNamespace || a.target == onRename || a.target == onTransaction
}

// routeAccess covers every route of routes(); a route missing here falls
// back to defaultAccess.
var routeAccess = map[string]access{
	"GET /v1/config":                    {"getConfig", auth.None, onCatalog},
	"POST " + oauthTokensPath:           {"getToken", auth.None, public},
	"GET /v1/namespaces":                {"listNamespaces", auth.Read, onParent},
	"POST /v1/namespaces":               {"createNamespace", auth.Write, onNewNamespace},
	"GET " + nsPath:                     {"loadNamespace", auth.Read, onPath},
	"HEAD " + nsPath:                    {"namespaceExists", auth.Read, onPath},
	"DELETE " + nsPath:                  {"dropNamespace", auth.Write, onOldNamespace},
	"POST " + nsPath + "/properties":    {"updateNamespaceProperties", auth.Write, onPath},
	"GET " + nsPath + "/tables":         {"listTables", auth.Read, onPath},
	"POST " + nsPath + "/tables":        {"createTable", auth.Write, onPath},
	"GET " + tablePath:                  {"loadTable", auth.Read, onPath},
	"HEAD " + tablePath:                 {"tableExists", auth.Read, onPath},
	"POST " + tablePath:                 {"updateTable", auth.Write, onPath},
	"DELETE " + tablePath:               {"dropTable", auth.Write, onPath},
	"POST " + nsPath + "/register":      {"registerTable", auth.Write, onPath},
	"POST " + tablePath + "/metrics":    {"reportMetrics", auth.Read, onPath}, // readers report scans
	"GET " + tablePath + "/credentials": {"loadCredentials", auth.Read, onPath},
	"POST " + tablePath + "/unregister": {"unregisterTable", auth.Write, onPath},
	"POST /v1/tables/rename":            {"renameTable", auth.Write, onRename},
	"POST /v1/transactions/commit":      {"commitTransaction", auth.Write, onTransaction},
	"GET " + nsPath + "/views":          {"listViews", auth.Read, onPath},
	"POST " + nsPath + "/views":         {"createView", auth.Write, onPath},
	"GET " + viewPath:                   {"loadView", auth.Read, onPath},
	"HEAD " + viewPath:                  {"viewExists", auth.Read, onPath},
	"POST " + viewPath:                  {"replaceView", auth.Write, onPath},
	"DELETE " + viewPath:                {"dropView", auth.Write, onPath},
	"POST " + nsPath + "/register-view": {"registerView", auth.Write, onPath},
	"POST /v1/views/rename":             {"renameView", auth.Write, onRename},
	// Signing is a read here; the signer signs a write only for principals
	// with write access (accessOf). The legacy path names no table: its
	// handler checks read access on the table it finds.
	signTablePath:  {"signRequest", auth.Read, onPath},
	signLegacyPath: {"signRequest", auth.None, onCatalog},
	// Planning a scan, polling, cancelling and fetching its tasks only read
	// the catalog, though they are POST and DELETE.
	"POST " + planPath:                 {"planTableScan", auth.Read, onPath},
	"GET " + planPath + "/{planID}":    {"fetchPlanningResult", auth.Read, onPath},
	"DELETE " + planPath + "/{planID}": {"cancelPlanning", auth.Read, onPath},
	"POST " + tablePath + "/tasks":     {"fetchScanTasks", auth.Read, onPath},
	// The change feed filters each event by the principal's read access
	// (events.go); the deleted area needs what a table in it needs.
	"GET " + eventsPath:                    {"streamEvents", auth.None, onCatalog},
	"GET " + deletedPath:                   {"listDeleted", auth.Read, onPath},
	"POST " + deletedPath + "/{id}/undrop": {"undrop", auth.Write, onPath},
}

// defaultAccess is a safe guess for a route nobody listed: reads need
// read and anything else write on the path's namespace; without one,
// anything but a read needs admin.
func defaultAccess(pattern string) access {
	method, _, _ := strings.Cut(pattern, " ")
	read := method == http.MethodGet || method == http.MethodHead
	switch {
	case strings.Contains(pattern, "{namespace}") && read:
		return access{pattern, auth.Read, onPath}
	case strings.Contains(pattern, "{namespace}"):
		return access{pattern, auth.Write, onPath}
	case read:
		return access{pattern, auth.None, onCatalog}
	}
	return access{pattern, auth.Admin, onCatalog}
}

// guard authorizes a route's requests, and writes the audit line of every
// write and of every denial. Nothing of the body is read before the
// principal is known to be allowed, where the path names the namespace,
// or could be allowed somewhere, where the body names it; an oversized
// body is refused by its Content-Length before it is read.
func (h *Handler) guard(pattern string, next handler) handler {
	acc, ok := routeAccess[pattern]
	if !ok {
		acc = defaultAccess(pattern)
	}
	return h.guardAccess(acc, next)
}

// guardAccess is guard for a route whose access is known. Its own refusals
// are returned; the route's answer, errors included, goes through the
// status writer that the audit line reads.
func (h *Handler) guardAccess(acc access, next handler) handler {
	return func(w http.ResponseWriter, r *http.Request, in *input) error {
		if acc.target == public {
			if err := h.bodyTooLarge(r); err != nil {
				writeJSON(w, http.StatusRequestEntityTooLarge, oauthError{"invalid_request", err.Message})
				return nil
			}
			return next(w, r, in)
		}
		who, ok := auth.FromContext(r.Context())
		if !ok {
			return ice.Errorf(ice.EUNAUTHORIZED, "no principal")
		}
		if acc.inBody() && h.authz.Highest(who) < acc.level {
			err := &ice.Error{Code: ice.EFORBIDDEN, Message: fmt.Sprintf("%s may not %s: it needs %s access, and has it nowhere", who.Name, acc.op, acc.level)}
			h.auditAlways(r, who, acc, "", "denied", err)
			return err
		}
		if err := h.bodyTooLarge(r); acc.inBody() && err != nil {
			return err
		}
		checks, ident, err := h.resolve(r, in, acc)
		if err != nil {
			h.audit(r, who, acc, ident, "invalid", err)
			return err
		}
		for _, c := range checks {
			if !h.allowed(who, c.level, c.ns, c.anyGrant) {
				err := &ice.Error{Code: ice.EFORBIDDEN, Message: fmt.Sprintf("%s may not %s %s: it needs %s access", who.Name, acc.op, c.what(), c.level)}
				h.auditAlways(r, who, acc, ident, "denied", err)
				return err
			}
		}
		if err := h.bodyTooLarge(r); !acc.inBody() && err != nil { // inBody routes checked it before resolve
			return err
		}
		if acc.audited() {
			// The store records who made the change in the change's own
			// Txn, for the change feed (etcd/events.go).
			r = r.WithContext(ice.WithAudit(r.Context(), ice.Audit{Principal: who.Name, Operation: acc.op}))
		}
		sw := &statusWriter{ResponseWriter: w}
		if acc.recorded() && h.idem != nil && r.Header.Get(headerIdempotencyKey) != "" {
			h.answer(h.keyed(who, next), sw, r, in)
		} else {
			h.answer(next, sw, r, in)
		}
		if acc.audited() {
			outcome := "ok"
			if sw.status == 0 {
				sw.status = http.StatusOK // the handler wrote nothing: net/http sends 200
			}
			if sw.status >= 400 {
				outcome = "failed"
			}
			h.audit(r, who, acc, ident, outcome, nil, "status", sw.status)
		}
		return nil
	}
}

// check is one namespace a request touches and the level it needs there.
type check struct {
	ns       ice.Namespace // nil: the catalog as a whole
	level    auth.Level
	anyGrant bool // listing top-level names: any grant at all suffices
}

func (c check) what() string {
	if c.ns == nil {
		return "on the catalog"
	}
	return "on namespace " + c.ns.String()
}

func (h *Handler) allowed(who auth.Principal, need auth.Level, ns ice.Namespace, anyGrant bool) bool {
	if need == auth.None {
		return true
	}
	if anyGrant {
		return h.authz.Any(who)
	}
	return h.authz.Allowed(who, need, ns)
}

// accessLevel is what the request's principal may do on ns, for handlers
// whose need depends on the request's content (signing, vending).
func (h *Handler) accessLevel(r *http.Request, ns ice.Namespace) auth.Level {
	who, ok := auth.FromContext(r.Context())
	if !ok {
		return auth.None
	}
	return h.authz.Level(who, ns)
}

// resolve finds the namespaces a request touches and the identifier its
// audit line names. Malformed input is reported as the handler would: the
// handler's own validation runs after the guard.
func (h *Handler) resolve(r *http.Request, in *input, acc access) ([]check, string, error) {
	switch acc.target {
	case onCatalog:
		return []check{{level: acc.level}}, "", nil
	case onParent:
		p := r.URL.Query().Get("parent")
		if p == "" {
			return []check{{level: acc.level, anyGrant: true}}, "", nil
		}
		ns, err := parseNamespace(p)
		return []check{{ns: ns, level: acc.level}}, p, err
	case onPath, onOldNamespace:
		ns, err := namespaceParam(r)
		if err != nil {
			return nil, r.PathValue("namespace"), err
		}
		ident := ns.String()
		for _, leaf := range []string{"table", "view"} {
			if v := r.PathValue(leaf); v != "" {
				ident += "." + v
			}
		}
		need := acc.level
		if acc.target == onOldNamespace && len(ns) == 1 {
			need = auth.Admin
		}
		return []check{{ns: ns, level: need}}, ident, nil
	case onNewNamespace:
		var req struct {
			Namespace []string `json:"namespace"`
		}
		if err := in.peek(&req); err != nil {
			return nil, "", err
		}
		ns := ice.NamespaceFromClient(req.Namespace)
		need := acc.level
		if len(ns) <= 1 {
			need = auth.Admin
		}
		return []check{{ns: ns, level: need}}, ns.String(), nil
	case onRename:
		var req struct {
			Source, Destination *tableIdentifier
		}
		if err := in.peek(&req); err != nil {
			return nil, "", err
		}
		if req.Source == nil || req.Destination == nil {
			return nil, "", ice.Errorf(ice.EINVALID, "rename requires source and destination")
		}
		src, dst := req.Source.ident(), req.Destination.ident()
		return []check{{ns: src.Namespace, level: acc.level}, {ns: dst.Namespace, level: acc.level}},
			src.String() + " -> " + dst.String(), nil
	case onTransaction:
		var req struct {
			TableChanges []struct {
				Identifier *tableIdentifier `json:"identifier"`
			} `json:"table-changes"`
		}
		if err := in.peek(&req); err != nil {
			return nil, "", err
		}
		var checks []check
		var ids []string
		for i, c := range req.TableChanges {
			if c.Identifier == nil {
				return nil, "", ice.Errorf(ice.EINVALID, "table-changes[%d] has no identifier", i)
			}
			id := c.Identifier.ident()
			checks = append(checks, check{ns: id.Namespace, level: acc.level})
			ids = append(ids, id.String())
		}
		return checks, strings.Join(ids, ","), nil
	}
	return nil, "", fmt.Errorf("route %s has no access target", acc.op)
}

// audit writes the audit line of a write.
func (h *Handler) audit(r *http.Request, who auth.Principal, acc access, ident, outcome string, err error, extra ...any) {
	if acc.audited() {
		h.auditAlways(r, who, acc, ident, outcome, err, extra...)
	}
}

func (h *Handler) auditAlways(r *http.Request, who auth.Principal, acc access, ident, outcome string, err error, extra ...any) {
	args := []any{"principal", who.Name, "operation", acc.op, "identifier", ident, "outcome", outcome}
	if err != nil {
		args = append(args, "reason", err.Error())
	}
	h.log.InfoContext(r.Context(), "audit", append(args, extra...)...)
}

// bodyTooLarge refuses, with 413, a request whose Content-Length is over
// the body limit, without reading the body. A body without a length is cut
// at the limit by the MaxBytesReader that ServeHTTP puts in front of it.
func (h *Handler) bodyTooLarge(r *http.Request) *ice.Error {
	if r.ContentLength <= h.maxBody {
		return nil
	}
	return ice.Errorf(ice.ETOOLARGE, "request body is larger than the limit of %d bytes", h.maxBody)
}

// bodyReadError classifies a failed body read: over the size limit (413),
// cut by the server's read timeout (408), or otherwise broken (400).
func bodyReadError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return ice.Errorf(ice.ETOOLARGE, "request body is larger than the limit of %d bytes", tooLarge.Limit)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return ice.Errorf(ice.ETIMEOUT, "the request body did not arrive within the server's read timeout")
	}
	return ice.Errorf(ice.EINVALID, "cannot read request body: %w", err)
}
