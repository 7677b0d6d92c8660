package rest

import "net/http"

// HandleForTest adds a route, so tests can reach the middleware with a
// handler of their own (one that panics, say).
func (h *Handler) HandleForTest(pattern string, fn http.HandlerFunc) { h.mux.HandleFunc(pattern, fn) }

// RoutePatternsForTest lists the patterns of every route served.
func (h *Handler) RoutePatternsForTest() []string {
	var out []string
	for _, rt := range h.routes() {
		out = append(out, rt.pattern)
	}
	return out
}
