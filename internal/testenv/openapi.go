package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/ice-rest-catalog/ice/spec"
)

// The spec is parsed once per test binary: it is large, and nothing writes
// to it after loading.
var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

// SpecRouter routes requests to the operations of the vendored Iceberg REST
// OpenAPI spec, adapted to how this server is addressed: the spec's paths
// are /v1/{prefix}/..., the server serves /v1/... (it advertises no prefix
// in /v1/config), so "/{prefix}" and its path parameter are dropped; and the
// spec's templated servers are removed so any host matches.
func SpecRouter() (routers.Router, error) {
	specOnce.Do(func() {
		// The spec's responses declare their ETag header as a $ref to the
		// etag *parameter*; OpenAPI wants a Header object there, which
		// kin-openapi enforces. Put the equivalent header inline instead.
		text := strings.ReplaceAll(string(spec.OpenAPI),
			"$ref: '#/components/parameters/etag'",
			"{description: Identifies a unique version of the table metadata., schema: {type: string}}")
		doc, err := openapi3.NewLoader().LoadFromData([]byte(text))
		if err != nil {
			specErr = fmt.Errorf("load OpenAPI spec: %w", err)
			return
		}
		doc.Servers = nil
		relaxScanPlanningUnions(doc)
		paths := openapi3.NewPaths()
		for p, item := range doc.Paths.Map() {
			if strings.Contains(p, "/{prefix}") {
				item.Parameters = withoutPrefix(item.Parameters)
				for _, op := range item.Operations() {
					op.Parameters = withoutPrefix(op.Parameters)
				}
				p = strings.Replace(p, "/{prefix}", "", 1)
			}
			paths.Set(p, item)
		}
		doc.Paths = paths
		// The spec's own examples are not all valid for their schemas (the
		// Transform example is an array of strings for a string); they are
		// documentation, not what is checked here.
		if specRouter, err = legacy.NewRouter(doc, openapi3.DisableExamplesValidation()); err != nil {
			specErr = fmt.Errorf("route OpenAPI spec: %w", err)
		}
	})
	return specRouter, specErr
}

func withoutPrefix(params openapi3.Parameters) openapi3.Parameters {
	out := params[:0:0]
	for _, p := range params {
		if p.Value != nil && p.Value.In == openapi3.ParameterInPath && p.Value.Name == "prefix" {
			continue
		}
		out = append(out, p)
	}
	return out
}

// SpecValidator is an http.Handler middleware that checks each request and
// each response against the spec and records every violation; it never
// changes what the client sees.
type SpecValidator struct {
	router routers.Router

	mu         sync.Mutex
	violations []string
}

// NewSpecValidator returns a validator; the test fails if the spec cannot be
// loaded.
func NewSpecValidator(t testing.TB) *SpecValidator {
	t.Helper()
	r, err := SpecRouter()
	if err != nil {
		t.Fatal(err)
	}
	return &SpecValidator{router: r}
}

// Violations returns what was recorded so far.
func (v *SpecValidator) Violations() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.violations...)
}

// FailOnViolations makes t fail, when it ends, with each recorded violation.
func (v *SpecValidator) FailOnViolations(t testing.TB) {
	t.Cleanup(func() {
		for _, s := range v.Violations() {
			t.Errorf("OpenAPI spec violation: %s", s)
		}
	})
}

func (v *SpecValidator) record(r *http.Request, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if len(msg) > 2000 { // a schema error can quote a whole table's metadata
		msg = msg[:2000] + "..."
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.violations = append(v.violations, r.Method+" "+r.URL.RequestURI()+": "+msg)
}

// validationOptions: the spec's security schemes (OAuth2, bearer) are not
// what is under test here, auth has its own tests; so any credentials pass.
func validationOptions() *openapi3filter.Options {
	o := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true, // a status the spec does not list is a violation
		MultiError:            true,
	}
	// The default message quotes the schema and the whole value (a table's
	// metadata, say); where and why is what a reader needs.
	o.WithCustomSchemaErrorFunc(func(e *openapi3.SchemaError) string {
		v, _ := json.Marshal(e.Value)
		if len(v) > 200 {
			v = append(v[:200], "..."...)
		}
		return fmt.Sprintf("/%s: %s (value %s)", strings.Join(e.JSONPointer(), "/"), e.Reason, v)
	})
	return o
}

// Wrap returns next behind the validator.
func (v *SpecValidator) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readAll(r)
		if err != nil {
			v.record(r, "read request body: %v", err)
			next.ServeHTTP(w, r)
			return
		}
		route, params, err := v.router.FindRoute(specAlias(r))
		if err != nil {
			v.record(r, "no operation in the spec: %v", err)
			r.Body = http.NoBody
			if len(body) > 0 {
				r.Body = readCloser(body)
			}
			next.ServeHTTP(w, r)
			return
		}
		// The validator reads (and may rewrite) its own copy of the request.
		vr := specAlias(r).Clone(context.WithoutCancel(r.Context()))
		vr.Body = readCloser(withoutClientQuirks(route, body))
		in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route, Options: validationOptions()}
		// getToken's form body is a oneOf that kin-openapi cannot decode, and
		// ClickHouse sends its parameters in the query with no body; the
		// token endpoint's answers are still checked below.
		if err := openapi3filter.ValidateRequest(vr.Context(), in); err != nil && route.Operation.OperationID != "getToken" {
			v.record(r, "request (%s): %v", route.Operation.OperationID, err)
		}

		r.Body = readCloser(body)
		rec := &recorder{header: http.Header{}}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		for k, vals := range rec.header {
			w.Header()[k] = vals
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())

		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.status, Header: rec.header, Options: validationOptions()}
		out.SetBodyBytes(rec.body.Bytes())
		if err := openapi3filter.ValidateResponse(vr.Context(), out); err != nil {
			v.record(r, "response %d (%s): %v", rec.status, route.Operation.OperationID, err)
		}
	})
}

// legacySignPath is the S3 signer path that predates the spec's per-table
// sign operation; it takes and answers the same schemas, so it is checked
// against that operation.
const legacySignPath = "/v1/aws/s3/sign"

// specAlias returns r, or for a path the spec lacks but whose exchange one
// of its operations defines, a copy addressed to that operation.
func specAlias(r *http.Request) *http.Request {
	if r.URL.Path != legacySignPath {
		return r
	}
	a := r.Clone(r.Context())
	a.URL.Path = "/v1/namespaces/legacy/tables/legacy/sign"
	a.URL.RawPath = ""
	return a
}

// withoutClientQuirks returns the request body the validator checks, with
// the known spec violations of the clients the tests use undone, so each
// stays excused and nothing else is. The server still gets the body as sent
// (and accepts these quirks, as it must to serve those clients).
func withoutClientQuirks(route *routers.Route, body []byte) []byte {
	if route.Operation.OperationID != "updateProperties" {
		return body
	}
	// iceberg-go (v0.7.0, catalog/rest UpdateNamespaceProperties) encodes
	// the removals or updates it was not given as null; the spec wants an
	// array and an object, or the key absent. Null means absent.
	var req map[string]json.RawMessage
	if json.Unmarshal(body, &req) != nil {
		return body
	}
	changed := false
	for _, k := range []string{"removals", "updates"} {
		if v, ok := req[k]; ok && string(v) == "null" {
			delete(req, k)
			changed = true
		}
	}
	if !changed {
		return body
	}
	out, err := json.Marshal(req)
	if err != nil {
		return body
	}
	return out
}

func readAll(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(r.Body)
	r.Body.Close()
	return buf.Bytes(), err
}

func readCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// recorder holds a response until it has been validated. Nothing the catalog
// serves streams, so buffering changes nothing a client can see.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
