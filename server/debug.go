package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ice-rest-catalog/ice/metrics"
)

// debugHandler serves the probes and metrics on debugAddr, away from the API
// so they need no credentials and are never exposed with it.
// It answers from the start of Start: /livez at once, /readyz with 503 until
// etcd is reachable and again while draining on shutdown.
func debugHandler(l *lifecycle, m *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	ready := func(w http.ResponseWriter, r *http.Request) {
		switch l.current() {
		case phaseStarting:
			http.Error(w, "starting: waiting for "+*l.waiting.Load(), http.StatusServiceUnavailable)
			return
		case phaseDraining:
			http.Error(w, "draining: shutting down, finishing requests in flight", http.StatusServiceUnavailable)
			return
		}
		cli, wh := l.cli, l.wh
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		// A linearizable read proves a quorum answers, not only one member.
		if _, err := cli.Get(ctx, "health", clientv3.WithCountOnly()); err != nil {
			http.Error(w, "etcd: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		if err := wh.Check(ctx); err != nil {
			http.Error(w, "warehouse: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}
	mux.HandleFunc("GET /readyz", ready)
	mux.HandleFunc("GET /healthz", ready)
	mux.Handle("GET /metrics", m.Handler())
	return mux
}
