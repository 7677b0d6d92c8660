package rest

import (
	"net/http"
	"strings"

	"github.com/ice-rest-catalog/ice/auth"
)

// Route is a route served beside the Iceberg API (the console's read-only
// management endpoints, console/), behind the same authentication, guard,
// metrics and audit as the API's own routes. Nothing else authorizes it.
type Route struct {
	Pattern string // "GET /management/v1/namespaces/{namespace}/tables/{table}/files"
	Op      string // what audit lines and denials call it
	// Level is what the principal needs on the {namespace} of the path, or
	// on the catalog as a whole when the pattern has none (None: any
	// authenticated principal). Write and above are audited.
	Level auth.Level
	// Handler answers; its error is written as an ErrorModel (errors.go).
	Handler func(http.ResponseWriter, *http.Request) error
}

// handleExtra registers rt through guard, like routes().
func (h *Handler) handleExtra(rt Route) {
	acc := access{op: rt.Op, level: rt.Level, target: onCatalog}
	if strings.Contains(rt.Pattern, "{namespace}") {
		acc.target = onPath
	}
	h.mux.HandleFunc(rt.Pattern, h.serve(h.guardAccess(acc, func(w http.ResponseWriter, r *http.Request, _ *input) error {
		return rt.Handler(w, r)
	})))
}

// WriteJSON answers v as JSON with status, as the API's own answers are.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }
