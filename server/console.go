package server

import (
	"context"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	clientv3 "go.etcd.io/etcd/client/v3"
	"gopkg.in/yaml.v3"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/console"
	"github.com/ice-rest-catalog/ice/maintenance"
	"github.com/ice-rest-catalog/ice/metrics"
	"github.com/ice-rest-catalog/ice/rest"
	"github.com/ice-rest-catalog/ice/service"
)

// consoleRoutes are the console's management endpoints, or none when the
// console is off.
func (s *Server) consoleRoutes(cfg *config.Config, svc *service.Service, sec *security, m *metrics.Metrics, endpoints []string) []rest.Route {
	if !cfg.ConsoleEnabled() {
		return nil
	}
	mcfg, _, _, err := maintenance.FromConfig(cfg)
	if err != nil {
		mcfg = maintenance.Config{} // startMaintenance reports a bad maintenance config
	}
	started := time.Now()
	mg := console.NewManagement(console.Config{Service: svc, Warehouse: s.wh, Authz: sec.authz, Maintenance: mcfg, Log: s.log,
		ServerInfo: func(ctx context.Context) (any, error) { return s.serverInfo(ctx, cfg, m, endpoints, started), nil }})
	s.console = mg
	return mg.Routes()
}

// withConsole serves /ui/ beside api when the console is on.
func withConsole(cfg *config.Config, sec *security, api http.Handler) http.Handler {
	if !cfg.ConsoleEnabled() {
		return api
	}
	in := console.SignIn{OAuth: sec.oauth != nil}
	if cfg.OIDC.Issuer != "" && cfg.Console.OIDCClientID != "" {
		scopes := cfg.Console.OIDCScopes
		if len(scopes) == 0 {
			scopes = []string{"openid"}
		}
		in.OIDC = &console.OIDC{Issuer: cfg.OIDC.Issuer, ClientID: cfg.Console.OIDCClientID, Scopes: scopes}
	}
	return console.Mount(api, in)
}

// logConsole says where the console is, once the API listens.
func (s *Server) logConsole(cfg *config.Config) {
	if !cfg.ConsoleEnabled() {
		return
	}
	scheme, host := "http", s.apiLn.Addr().String()
	if cfg.TLS.Enabled() {
		scheme = "https"
	}
	if h, port, ok := strings.Cut(host, "]:"); ok { // [::]:5000
		host = h + "]:" + port
	}
	if strings.HasPrefix(host, "0.0.0.0:") || strings.HasPrefix(host, "[::]:") {
		host = "localhost" + host[strings.LastIndex(host, ":"):]
	}
	s.log.Info("web console", "url", scheme+"://"+host+console.Path)
}

// serverInfo is the console's Server page: build, config (secrets masked),
// etcd, maintenance leader and the metrics that matter.
func (s *Server) serverInfo(ctx context.Context, cfg *config.Config, m *metrics.Metrics, endpoints []string, started time.Time) map[string]any {
	info := map[string]any{
		"version":   buildVersion(),
		"goVersion": runtime.Version(),
		"uptimeSec": int64(time.Since(started).Seconds()),
		"catalog":   cfg.Name,
		"warehouse": cfg.Warehouse,
		"config":    maskedConfig(cfg),
		"etcd":      s.etcdHealth(ctx, endpoints),
	}
	if s.embedded != nil {
		info["etcdEmbedded"] = true
	}
	maint := map[string]any{"schedule": cfg.MaintenanceSchedule}
	if cfg.MaintenanceSchedule != "" {
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		resp, err := s.cli.Get(lctx, maintenance.ElectionKey(cfg.Name)+"/", clientv3.WithFirstCreate()...)
		cancel()
		switch {
		case err != nil:
			maint["leaderError"] = err.Error()
		case len(resp.Kvs) > 0:
			maint["leader"] = string(resp.Kvs[0].Value)
		}
	}
	info["maintenance"] = maint
	if g, ok := m.Registerer().(prometheus.Gatherer); ok {
		info["metrics"] = keyMetrics(g, time.Since(started))
	}
	return info
}

func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, st := range bi.Settings {
		if st.Key == "vcs.revision" && len(st.Value) >= 12 {
			v += " (" + st.Value[:12] + ")"
		}
	}
	return v
}

// etcdHealth asks each endpoint for its status, briefly.
func (s *Server) etcdHealth(ctx context.Context, endpoints []string) []map[string]any {
	out := []map[string]any{}
	for _, ep := range endpoints {
		e := map[string]any{"endpoint": ep}
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := s.cli.Status(sctx, ep)
		cancel()
		if err != nil {
			e["healthy"], e["error"] = false, err.Error()
		} else {
			e["healthy"], e["version"], e["dbSize"] = true, st.Version, st.DbSize
			e["leader"] = st.Header != nil && st.Leader == st.Header.MemberId
			e["raftIndex"] = st.RaftIndex
		}
		out = append(out, e)
	}
	return out
}

// secretWords mark config keys whose values are masked on the Server page.
var secretWords = []string{"secret", "password", "value", "key", "token", "hash", "credential"}

// maskedConfig is the config as YAML keys with every secret masked.
func maskedConfig(cfg *config.Config) map[string]any {
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return map[string]any{"error": "cannot encode config"}
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return map[string]any{"error": "cannot encode config"}
	}
	maskWalk(v)
	prune(v)
	return v
}

// prune drops unset values (empty strings, zeros, empty lists and maps), so
// that the summary shows what the config sets and the defaults it got.
func prune(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == "" || t == "0s"
	case int:
		return t == 0
	case map[string]any:
		for k, val := range t {
			if prune(val) {
				delete(t, k)
			}
		}
		return len(t) == 0
	case []any:
		for _, e := range t {
			prune(e)
		}
		return len(t) == 0
	}
	return false
}

// maskWalk masks every non-empty string under a key that names a secret;
// maps and lists are walked whatever their key.
func maskWalk(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if s, ok := val.(string); ok {
				if s != "" && isSecretKey(strings.ToLower(k)) {
					t[k] = "••••••"
				}
				continue
			}
			maskWalk(val)
		}
	case []any:
		for _, e := range t {
			maskWalk(e)
		}
	}
}

// isSecretKey: names and paths of files hold no secret, durations neither.
func isSecretKey(lk string) bool {
	if strings.HasSuffix(lk, "file") || strings.HasSuffix(lk, "ttl") || strings.HasSuffix(lk, "lifetime") || lk == "name" {
		return false
	}
	for _, w := range secretWords {
		if strings.Contains(lk, w) {
			return true
		}
	}
	return false
}

// keyMetrics reads the few figures the Server page shows.
func keyMetrics(g prometheus.Gatherer, up time.Duration) map[string]any {
	fams, err := g.Gather()
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	sum := func(name string, match func(labels map[string]string) bool) float64 {
		var total float64
		for _, f := range fams {
			if f.GetName() != name {
				continue
			}
			for _, mt := range f.GetMetric() {
				labels := map[string]string{}
				for _, l := range mt.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if match == nil || match(labels) {
					total += counterValue(mt)
				}
			}
		}
		return total
	}
	reqs := sum("ice_http_requests_total", nil)
	errs := sum("ice_http_requests_total", func(l map[string]string) bool { return strings.HasPrefix(l["code"], "5") })
	hits, misses := sum("ice_metadata_cache_hits_total", nil), sum("ice_metadata_cache_misses_total", nil)
	out := map[string]any{
		"requests":        reqs,
		"requestsPerSec":  reqs / maxf(up.Seconds(), 1),
		"serverErrors":    errs,
		"commitsOK":       sum("ice_commits_total", func(l map[string]string) bool { return l["outcome"] == "ok" }),
		"commitConflicts": sum("ice_commits_total", func(l map[string]string) bool { return l["outcome"] == "conflict" }),
		"commitRetries":   sum("ice_commit_retries_total", nil),
		"cacheHits":       hits,
		"cacheMisses":     misses,
		"cacheBytes":      sum("ice_metadata_cache_bytes", nil),
		"cacheMaxBytes":   sum("ice_metadata_cache_max_bytes", nil),
		"cacheHitRatio":   nil,
	}
	if hits+misses > 0 {
		out["cacheHitRatio"] = hits / (hits + misses)
	}
	return out
}

func counterValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}
