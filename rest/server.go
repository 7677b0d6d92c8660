// Package rest serves the Iceberg REST catalog API over the service. It
// decodes requests, authorizes them, calls the service and encodes the
// answer; every error becomes an ErrorModel in errors.go.
package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/auth"
	"github.com/ice-rest-catalog/ice/credentials"
	"github.com/ice-rest-catalog/ice/service"
)

// Observer receives one call per served request (the metrics package).
type Observer interface {
	ObserveRequest(route, method string, code int, d time.Duration)
}

// Config configures a Handler.
type Config struct {
	Service *service.Service
	Auth    *auth.Authenticator
	Log     *slog.Logger
	Metrics Observer
	// TableConfig is merged into every loadTable/createTable "config".
	TableConfig map[string]string
	// VendedConfig is added to TableConfig when the client asks for
	// X-Iceberg-Access-Delegation: vended-credentials and Vendor is nil:
	// static keys, set only when the config says to hand them out.
	VendedConfig map[string]string
	// Vendor, if set, vends STS credentials scoped to each table.
	Vendor *credentials.Vendor
	// Signer, if set, serves remote signing.
	Signer *credentials.Signer
	// SignerURI, if set, is advertised as s3.signer.uri.
	SignerURI string
	// MaxBodyBytes bounds request bodies; larger ones get 413. Default 16 MiB.
	MaxBodyBytes int64
	// Admin, when set, serves /admin/v1 catalog export and import (admin.go).
	Admin ice.CatalogAdmin
	// Authz decides what each principal may do; nil allows everything
	// except writes by read-only principals.
	Authz *auth.Authorizer
	// OAuth serves POST /v1/oauth/tokens; nil refuses every client.
	OAuth *auth.OAuth
	// Idempotency keeps the outcomes of requests with an Idempotency-Key;
	// nil turns the header off, and /v1/config does not advertise it.
	Idempotency ice.IdempotencyStore
	// IdempotencyKeyLifetime is how long an outcome is kept. Default 30m.
	IdempotencyKeyLifetime time.Duration
	// Planner serves server-side scan planning; nil leaves its endpoints
	// unrouted and unadvertised.
	Planner *service.Planner
	// Feed serves GET /management/v1/events; nil leaves it unrouted.
	Feed ice.ChangeFeed
	// EventSource is the CloudEvents "source" of the catalog's events.
	EventSource string
	// Closing, when closed, ends every event stream (the server drains).
	Closing <-chan struct{}
	// Routes are served beside the API behind the same guard (extra.go).
	Routes []Route
	// Limits bound what one client can make the server hold or store;
	// their defaults are the config's (config/limits.go).
	Limits Limits
}

// Limits are the request limits the handler enforces. Zero turns a limit
// off; the server passes the config's values, defaults applied.
type Limits struct {
	// MaxRequestsInFlight bounds the requests this replica serves at
	// once; one more gets 503 with Retry-After.
	MaxRequestsInFlight int
	// IdempotencyMaxRecordBytes bounds one stored answer; a larger one is
	// not recorded, so a retry runs the request again.
	IdempotencyMaxRecordBytes int
	// IdempotencyKeysPerPrincipal bounds the keys one principal holds at
	// a time; one more is refused with 429.
	IdempotencyKeysPerPrincipal int
	// TokenRequestsPerSecond and TokenRequestBurst bound the token
	// endpoint's requests per client id; more get 429.
	TokenRequestsPerSecond float64
	TokenRequestBurst      int
}

// inFlightSlot keys the function that gives a request's in-flight slot
// back early.
type inFlightSlot struct{}

// Handler is the API's http.Handler.
type Handler struct {
	svc      *service.Service
	auth     *auth.Authenticator
	log      *slog.Logger
	metrics  Observer
	tableCfg map[string]string
	// tableCfgJSON is tableConfig(nil) encoded once.
	tableCfgJSON []byte
	bufs         joinBufs // for table answers written in one piece
	vendCfg      map[string]string
	maxBody      int64
	cfgTag       string // fingerprint of tableCfg and vendCfg, part of every ETag
	mux          *http.ServeMux
	authz        *auth.Authorizer
	oauth        *auth.OAuth
	// idem and idemLifetime serve Idempotency-Key (idempotency.go).
	idem         ice.IdempotencyStore
	idemLifetime time.Duration
	idemWait     time.Duration // 0: pendingWait; tests shorten it
	planner      *service.Planner
	// The change feed: events.go.
	feed        ice.ChangeFeed
	eventSource string
	closing     <-chan struct{}
	limits      Limits
	// inFlight holds a slot per request being served (nil: no limit).
	inFlight  chan struct{}
	tokenRate *rateLimiter // token requests per client id (nil: no limit)

	// Storage access for clients: credentials.go and sign.go.
	vendor    *credentials.Vendor
	signer    *credentials.Signer
	signerURI string // advertised as s3.signer.uri when set
}

// New builds the handler and its routes.
func New(cfg Config) *Handler {
	h := &Handler{svc: cfg.Service, auth: cfg.Auth, log: cfg.Log, metrics: cfg.Metrics,
		tableCfg: cfg.TableConfig, vendCfg: cfg.VendedConfig, maxBody: cfg.MaxBodyBytes, mux: http.NewServeMux(),
		authz: cfg.Authz, oauth: cfg.OAuth,
		vendor: cfg.Vendor, signer: cfg.Signer, signerURI: cfg.SignerURI}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.tableCfgJSON, _ = json.Marshal(h.tableConfig(nil)) // a map of strings always encodes
	h.cfgTag = configFingerprint(h.tableCfg, h.vendCfg, map[string]string{"signerURI": h.signerURI})
	h.idem, h.idemLifetime = cfg.Idempotency, cfg.IdempotencyKeyLifetime
	if h.idemLifetime <= 0 {
		h.idemLifetime = defaultIdempotencyKeyLifetime
	}
	h.planner = cfg.Planner
	h.feed, h.eventSource, h.closing = cfg.Feed, cfg.EventSource, cfg.Closing
	if h.maxBody <= 0 {
		h.maxBody = 16 << 20
	}
	h.limits = cfg.Limits
	if n := h.limits.MaxRequestsInFlight; n > 0 {
		h.inFlight = make(chan struct{}, n)
	}
	if h.limits.TokenRequestsPerSecond > 0 {
		h.tokenRate = newRateLimiter(h.limits.TokenRequestsPerSecond, max(h.limits.TokenRequestBurst, 1))
	}
	for _, rt := range h.routes() {
		h.mux.HandleFunc(rt.pattern, h.guard(rt.pattern, rt.handler))
	}
	h.adminRoutes(cfg.Admin)
	for _, rt := range cfg.Routes {
		h.handleExtra(rt)
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, ice.Errorf(ice.ENOTFOUND, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return h
}

type route struct {
	pattern string
	handler http.HandlerFunc
	// advertised is the spec's endpoint name for /v1/config, if any.
	advertised string
}

const (
	nsPath    = "/v1/namespaces/{namespace}"
	tablePath = nsPath + "/tables/{table}"
)

func (h *Handler) routes() []route {
	return append([]route{
		{"GET /v1/config", h.getConfig, ""},
		{"GET /v1/namespaces", h.listNamespaces, "GET /v1/{prefix}/namespaces"},
		{"POST /v1/namespaces", h.createNamespace, "POST /v1/{prefix}/namespaces"},
		{"GET " + nsPath, h.loadNamespace, "GET /v1/{prefix}/namespaces/{namespace}"},
		{"HEAD " + nsPath, h.namespaceExists, "HEAD /v1/{prefix}/namespaces/{namespace}"},
		{"DELETE " + nsPath, h.dropNamespace, "DELETE /v1/{prefix}/namespaces/{namespace}"},
		{"POST " + nsPath + "/properties", h.updateNamespaceProperties, "POST /v1/{prefix}/namespaces/{namespace}/properties"},
		{"GET " + nsPath + "/tables", h.listTables, "GET /v1/{prefix}/namespaces/{namespace}/tables"},
		{"POST " + nsPath + "/tables", h.createTable, "POST /v1/{prefix}/namespaces/{namespace}/tables"},
		{"GET " + tablePath, h.loadTable, "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}"},
		{"HEAD " + tablePath, h.tableExists, "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}"},
		{"POST " + tablePath, h.commitTable, "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}"},
		{"DELETE " + tablePath, h.dropTable, "DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}"},
		{"POST " + nsPath + "/register", h.registerTable, "POST /v1/{prefix}/namespaces/{namespace}/register"},
		{"POST " + tablePath + "/metrics", h.reportMetrics, "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics"},
		{"GET " + tablePath + "/credentials", h.loadCredentials, "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}/credentials"},
		{"POST " + tablePath + "/unregister", h.unregisterTable, "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/unregister"},
		{"POST /v1/tables/rename", h.renameTable, "POST /v1/{prefix}/tables/rename"},
		{"POST /v1/transactions/commit", h.commitTransaction, "POST /v1/{prefix}/transactions/commit"},
		{"POST " + oauthTokensPath, h.oauthTokens, ""},
	}, append(append(append(h.viewRoutes(), h.planRoutes()...), h.signRoutes()...), h.managementRoutes()...)...)
}

// Endpoints lists what /v1/config advertises: exactly the routes served.
func (h *Handler) Endpoints() []string {
	var out []string
	for _, rt := range h.routes() {
		if rt.advertised != "" {
			out = append(out, rt.advertised)
		}
	}
	return out
}

// ServeHTTP runs the middleware chain: recover, observe, take a slot of the
// in-flight limit, authenticate, limit the body, route. Each route then
// authorizes, refuses an oversized body before reading it, replays or
// records an Idempotency-Key's answer, and audits (guard in authz.go).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.log.ErrorContext(r.Context(), "panic in handler", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !sw.wrote {
				h.writeError(sw, r, ice.Errorf(ice.EINTERNAL, "internal server error; see the catalog's log"))
			}
		}
		h.observe(r, sw.status, time.Since(start))
	}()
	if h.inFlight != nil {
		select {
		case h.inFlight <- struct{}{}:
			var once sync.Once
			release := func() { once.Do(func() { <-h.inFlight }) }
			defer release()
			// An event stream gives its slot back once it starts (events.go).
			r = r.WithContext(context.WithValue(r.Context(), inFlightSlot{}, release))
		default:
			// A replica at its limit answers at once, without queueing:
			// the client retries, on this replica or another.
			sw.Header().Set("Retry-After", "1")
			h.writeError(sw, r, &ice.Error{Code: ice.EUNAVAILABLE, Type: "ServiceUnavailableException",
				Message: fmt.Sprintf("this replica is serving its limit of %d requests (limits.maxRequestsInFlight); retry shortly", cap(h.inFlight))})
			return
		}
	}
	r, ok := h.authenticate(sw, r) // authorization is per route: guard in authz.go
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(sw, r.Body, h.maxBody)
	h.mux.ServeHTTP(sw, r)
}

func (h *Handler) observe(r *http.Request, status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	route := r.Pattern
	if route == "" || route == "/" {
		route = "unmatched"
	}
	if h.metrics != nil {
		h.metrics.ObserveRequest(route, r.Method, status, d)
	}
	h.log.DebugContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "status", status, "duration", d)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// decode reads a JSON body into v. Malformed JSON is a 400, an oversized
// body a 413.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyReadError(err)
	}
	if len(body) == 0 {
		return ice.Errorf(ice.EINVALID, "request body is empty; a JSON object is required")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return ice.Errorf(ice.EINVALID, "malformed request body: %v", err)
	}
	return nil
}

// namespaceParam parses the {namespace} path segment: levels joined by the
// unit separator 0x1F (sent as %1F).
func namespaceParam(r *http.Request) (ice.Namespace, error) {
	return parseNamespace(r.PathValue("namespace"))
}

func parseNamespace(s string) (ice.Namespace, error) {
	if s == "" {
		return nil, ice.Errorf(ice.EINVALID, "namespace must not be empty")
	}
	ns := ice.NamespaceFromClient(strings.Split(s, "\x1f"))
	if err := ice.ValidateNamespace(ns); err != nil {
		return nil, err
	}
	return ns, nil
}

func tableParam(r *http.Request) (ice.TableIdent, error) {
	ns, err := namespaceParam(r)
	if err != nil {
		return ice.TableIdent{}, err
	}
	id := ice.TableIdent{Namespace: ns, Name: r.PathValue("table")}
	return id, ice.ValidateTableIdent(id)
}
