// Package metrics exposes the catalog's Prometheus metrics.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the collectors of one server, in its own registry, so that
// several servers in one process (tests) never share state.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	commits  *prometheus.CounterVec
	retries  prometheus.Counter
}

// New creates the collectors and registers them with the Go and process ones.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ice_http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ice_http_request_duration_seconds",
			Help:    "HTTP request latency, by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ice_commits_total",
			Help: "Table commits, by outcome: ok, conflict (409), unknown (CommitStateUnknown) or error.",
		}, []string{"outcome"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ice_commit_retries_total",
			Help: "Commits that lost the compare-and-swap race to a concurrent commit and were retried from a fresh base.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.commits, m.retries,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest records one served request.
func (m *Metrics) ObserveRequest(route, method string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

// Commit records a finished commit.
func (m *Metrics) Commit(outcome string) { m.commits.WithLabelValues(outcome).Inc() }

// CommitRetry records a retried commit.
func (m *Metrics) CommitRetry() { m.retries.Inc() }

// CacheStats is what the metadata cache reports (warehouse.CacheStats).
type CacheStats struct {
	Hits, Misses, Evictions uint64
	Bytes, MaxBytes         int64
	Entries                 int
}

// WatchCache exports the metadata cache's figures, read from stats at each
// scrape: its hit ratio and evictions tell whether metadataCacheBytes fits
// the tables in use.
func (m *Metrics) WatchCache(stats func() CacheStats) {
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "ice_metadata_cache_hits_total",
			Help: "Metadata file reads answered from the per-replica cache.",
		}, func() float64 { return float64(stats().Hits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "ice_metadata_cache_misses_total",
			Help: "Metadata file reads that went to object storage.",
		}, func() float64 { return float64(stats().Misses) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "ice_metadata_cache_evictions_total",
			Help: "Metadata files dropped from the cache to stay within metadataCacheBytes.",
		}, func() float64 { return float64(stats().Evictions) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ice_metadata_cache_bytes",
			Help: "Bytes the cached metadata files are charged (JSON, plus the parsed model for parsed files).",
		}, func() float64 { return float64(stats().Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ice_metadata_cache_max_bytes",
			Help: "The cache's bound, metadataCacheBytes.",
		}, func() float64 { return float64(stats().MaxBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ice_metadata_cache_entries",
			Help: "Metadata files in the cache.",
		}, func() float64 { return float64(stats().Entries) }),
	)
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registerer is the registry that /metrics serves, for collectors defined
// in other packages (maintenance).
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }
