// Package rest serves the Iceberg REST catalog API over the service. It
// decodes requests, authorizes them, calls the service and encodes the
// answer; every error becomes an ErrorModel in errors.go.
package rest

import (
	"bytes"
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
	// MaxEventStreams bounds the change-feed streams open at once, which
	// do not hold an in-flight slot; one more gets 503 with Retry-After.
	MaxEventStreams int
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

// Handler is the API's http.Handler. It is made of small parts, each
// serving one concern of the routes: the table answers' config, storage
// access for clients, Idempotency-Key, and the change feed.
type Handler struct {
	svc     *service.Service
	auth    *auth.Authenticator
	authz   *auth.Authorizer
	oauth   *auth.OAuth
	log     *slog.Logger
	metrics Observer
	mux     *http.ServeMux
	maxBody int64

	tableCfg tableConfig      // every table answer's "config" (tables.go)
	bufs     joinBufs         // for table answers written in one piece
	storage  *storageAccess   // vending and signing (credentials.go, sign.go)
	idem     *idempotency     // Idempotency-Key; nil: off (idempotency.go)
	planner  *service.Planner // nil: planning unrouted (plan.go)
	events   eventFeed        // the change feed (events.go)
	// inFlight holds a slot per request being served (nil: no limit).
	inFlight  chan struct{}
	tokenRate *rateLimiter // token requests per client id (nil: no limit)
}

// New builds the handler and its routes.
func New(cfg Config) *Handler {
	h := &Handler{svc: cfg.Service, auth: cfg.Auth, authz: cfg.Authz, oauth: cfg.OAuth, log: cfg.Log,
		metrics: cfg.Metrics, mux: http.NewServeMux(), maxBody: cfg.MaxBodyBytes, planner: cfg.Planner,
		events: eventFeed{feed: cfg.Feed, source: cfg.EventSource, closing: cfg.Closing}}
	if n := cfg.Limits.MaxEventStreams; n > 0 {
		h.events.streams = make(chan struct{}, n)
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.maxBody <= 0 {
		h.maxBody = 16 << 20
	}
	h.storage = &storageAccess{svc: cfg.Service, log: h.log, vendor: cfg.Vendor, signer: cfg.Signer,
		signerURI: cfg.SignerURI, static: cfg.VendedConfig, levelOf: h.accessLevel}
	h.tableCfg = newTableConfig(cfg.TableConfig, cfg.VendedConfig, cfg.SignerURI)
	if cfg.Idempotency != nil {
		h.idem = newIdempotency(cfg.Idempotency, cfg.IdempotencyKeyLifetime, cfg.Limits, h.log)
	}
	if n := cfg.Limits.MaxRequestsInFlight; n > 0 {
		h.inFlight = make(chan struct{}, n)
	}
	if cfg.Limits.TokenRequestsPerSecond > 0 {
		h.tokenRate = newRateLimiter(cfg.Limits.TokenRequestsPerSecond, max(cfg.Limits.TokenRequestBurst, 1))
	}
	for _, rt := range h.routes() {
		h.mux.HandleFunc(rt.pattern, h.serve(h.guard(rt.pattern, rt.handler)))
	}
	h.adminRoutes(cfg.Admin)
	for _, rt := range cfg.Routes {
		h.handleExtra(rt)
	}
	h.mux.HandleFunc("/", h.serve(func(_ http.ResponseWriter, r *http.Request, _ *input) error {
		return ice.Errorf(ice.ENOTFOUND, "no such endpoint: %s %s", r.Method, r.URL.Path)
	}))
	return h
}

// handler is a route's handler: it writes its answer, or returns the error
// to answer with. in holds the request's body, read at most once, and an
// Idempotency-Key's claim.
type handler func(w http.ResponseWriter, r *http.Request, in *input) error

// serve adapts fn to net/http: the request's body is read on first use.
func (h *Handler) serve(fn handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.answer(fn, w, r, &input{src: r.Body})
	}
}

// answer runs fn and answers its error as an ErrorModel: the one place a
// handler's error is written.
func (h *Handler) answer(fn handler, w http.ResponseWriter, r *http.Request, in *input) {
	if err := fn(w, r, in); err != nil {
		h.writeError(w, r, err)
	}
}

type route struct {
	pattern string
	handler handler
	// advertised says /v1/config lists the route (Endpoints).
	advertised bool
}

const (
	nsPath    = "/v1/namespaces/{namespace}"
	tablePath = nsPath + "/tables/{table}"
)

func (h *Handler) routes() []route {
	rts := []route{
		{"GET /v1/config", h.getConfig, false},
		{"GET /v1/namespaces", h.listNamespaces, true},
		{"POST /v1/namespaces", h.createNamespace, true},
		{"GET " + nsPath, h.loadNamespace, true},
		{"HEAD " + nsPath, h.namespaceExists, true},
		{"DELETE " + nsPath, h.dropNamespace, true},
		{"POST " + nsPath + "/properties", h.updateNamespaceProperties, true},
	}
	rts = append(rts, h.tableRoutes()...)
	rts = append(rts, route{"POST " + oauthTokensPath, h.oauthTokens, false})
	rts = append(rts, h.viewRoutes()...)
	return append(append(append(rts, h.planRoutes()...), h.signRoutes()...), h.managementRoutes()...)
}

// advertisedAs is a route's name in the spec's endpoint list: its pattern
// under the optional {prefix}, with the spec's names for path parameters.
func advertisedAs(pattern string) string {
	return strings.NewReplacer(" /v1/", " /v1/{prefix}/", "{planID}", "{plan-id}").Replace(pattern)
}

// Endpoints lists what /v1/config advertises: exactly the routes served.
func (h *Handler) Endpoints() []string {
	var out []string
	for _, rt := range h.routes() {
		if rt.advertised {
			out = append(out, advertisedAs(rt.pattern))
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
	release, err := h.takeSlot(sw)
	if err == nil {
		defer release()
		// An event stream gives its slot back once it starts (events.go).
		r = r.WithContext(context.WithValue(r.Context(), inFlightSlot{}, release))
		r, err = h.authenticate(sw, r) // authorization is per route: guard in authz.go
	}
	if err != nil {
		h.writeError(sw, r, err)
		return
	}
	r.Body = http.MaxBytesReader(sw, r.Body, h.maxBody)
	h.mux.ServeHTTP(sw, r)
}

// takeSlot takes one of the in-flight limit's slots, and returns the
// function that gives it back (at most once).
func (h *Handler) takeSlot(w http.ResponseWriter) (func(), error) {
	if h.inFlight == nil {
		return func() {}, nil
	}
	select {
	case h.inFlight <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-h.inFlight }) }, nil
	default:
		// A replica at its limit answers at once, without queueing: the
		// client retries, on this replica or another.
		w.Header().Set("Retry-After", "1")
		return nil, &ice.Error{Code: ice.EUNAVAILABLE, Type: "ServiceUnavailableException",
			Message: fmt.Sprintf("this replica is serving its limit of %d requests (limits.maxRequestsInFlight); retry shortly", cap(h.inFlight))}
	}
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

// input is what a handler gets beside the request: the body, read once,
// on first use, bounded by the MaxBytesReader that ServeHTTP puts in front
// of it (the guard, the Idempotency-Key's fingerprint and the handler all
// use the same bytes); and, for a request with an Idempotency-Key, the
// key's claim, and whether the handler's commit settled it.
type input struct {
	src  io.Reader
	data []byte
	err  error
	read bool
	// claim is the Idempotency-Key's claim the request runs under, nil
	// for none; a commit handler passes it to the service.
	claim *ice.IdempotencyClaim
	// settled is set by a commit handler when the service stored the
	// outcome under claim with the swap: nothing is left to record.
	settled bool
}

// bytes reads the body, the first time, and returns it.
func (in *input) bytes() ([]byte, error) {
	if !in.read {
		in.read = true
		if in.src != nil {
			in.data, in.err = io.ReadAll(in.src)
		}
		if in.err != nil {
			in.err = bodyReadError(in.err)
		}
	}
	return in.data, in.err
}

// decode reads a JSON body into v. Malformed JSON is a 400, an oversized
// body a 413, one cut by the read timeout a 408.
func (in *input) decode(v any) error {
	body, err := in.bytes()
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return ice.Errorf(ice.EINVALID, "request body is empty; a JSON object is required")
	}
	return unmarshal(body, v)
}

// decodeOptional is decode for a body the spec does not require: an empty
// one is the zero request.
func (in *input) decodeOptional(v any) error {
	body, err := in.bytes()
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return err
	}
	return unmarshal(body, v)
}

// peek decodes the body into v for the guard, which needs only the
// namespaces it names; the handler decodes the same bytes into its request.
func (in *input) peek(v any) error {
	body, err := in.bytes()
	if err != nil {
		return err
	}
	return unmarshal(body, v)
}

func unmarshal(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return ice.Errorf(ice.EINVALID, "malformed request body: %w", err)
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
