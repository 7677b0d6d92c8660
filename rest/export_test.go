package rest

import "net/http"

// HandleForTest adds a route, so tests can reach the middleware with a
// handler of their own (one that panics, say).
func (h *Handler) HandleForTest(pattern string, fn http.HandlerFunc) { h.mux.HandleFunc(pattern, fn) }
