package rest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/auth"
	"github.com/ice-rest-catalog/ice/credentials"
)

// Remote signing routes: the spec's per-table endpoint, and the path that
// S3 signer clients use when the table config names no endpoint.
const (
	signTablePath  = "POST " + tablePath + "/sign"
	signLegacyPath = "POST /v1/aws/s3/sign"
)

func (h *Handler) signRoutes() []route {
	if h.storage.signer == nil {
		return nil
	}
	return []route{
		{signTablePath, h.signTable, true},
		{signLegacyPath, h.signLegacy, false},
	}
}

const signingETagPart = "\x00" + delegateSigning

// signingTag is the ETag part that delegate adds when it does not vend
// temporary keys, computed without reading the table.
func (s *storageAccess) signingTag(r *http.Request) string {
	if s.signer == nil || !accessDelegation(r, delegateSigning) {
		return ""
	}
	if wantsVendedCredentials(r) && len(s.static) > 0 && s.vendor == nil {
		return "" // static keys are vended instead
	}
	return signingETagPart
}

// signingConfig tells clients to sign S3 requests through this table's
// sign endpoint. signer.uri is sent only when configured: clients default
// it to the catalog URI they were given, which is right unless a proxy
// rewrites paths.
func (s *storageAccess) signingConfig(id ice.TableIdent) map[string]string {
	ep := "v1/namespaces/" + url.PathEscape(strings.Join(id.Namespace, "\x1f")) + "/tables/" + url.PathEscape(id.Name) + "/sign"
	cfg := map[string]string{
		"s3.remote-signing-enabled": "true",
		"s3.signer.endpoint":        ep,
		"signer.endpoint":           ep,
	}
	if s.signerURI != "" {
		cfg["s3.signer.uri"] = s.signerURI
		cfg["signer.uri"] = s.signerURI
	}
	return cfg
}

func decodeSignRequest(in *input) (credentials.SignRequest, error) {
	var req credentials.SignRequest
	if err := in.decode(&req); err != nil {
		return req, err
	}
	if req.URI == "" || req.Method == "" {
		return req, ice.Errorf(ice.EINVALID, "a sign request needs uri and method")
	}
	return req, nil
}

// signTable signs a request for the table in the path.
func (h *Handler) signTable(w http.ResponseWriter, r *http.Request, in *input) error {
	id, err := tableParam(r)
	if err != nil {
		return err
	}
	req, err := decodeSignRequest(in)
	if err != nil {
		return err
	}
	t, err := h.svc.LoadTableRaw(r.Context(), id)
	if err != nil {
		return err
	}
	return h.storage.sign(w, r, id.Namespace, t.Metadata.TableLocation, req)
}

// sign answers a signed request for a table in ns at location.
func (s *storageAccess) sign(w http.ResponseWriter, r *http.Request, ns ice.Namespace, location string, req credentials.SignRequest) error {
	// The table's location itself must be one the location rule confirms
	// (not a bucket root, not outside the warehouse and the allowed
	// locations): the signer then confines each request to it.
	if _, err := s.svc.CheckStoredLocation(location); err != nil {
		return err
	}
	loc, ok, err := credentials.ParseLocation(location)
	if err != nil {
		return err
	}
	if !ok {
		return ice.Errorf(ice.EFORBIDDEN, "table location %s is not in S3; nothing to sign", location)
	}
	access, _ := s.accessOf(r, ns)
	res, err := s.signer.Sign(r.Context(), loc, access, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// signLegacy signs for whichever table holds the request's key. The path
// names no table, so the table is found from the key: with the default
// layout <warehouse>/<ns levels>/<table>/..., each split of the key into
// namespace and table name is tried, deepest first. Tables placed
// elsewhere (an explicit location, a namespace location property) are only
// reachable through the per-table endpoint, which loadTable advertises.
func (h *Handler) signLegacy(w http.ResponseWriter, r *http.Request, in *input) error {
	req, err := decodeSignRequest(in)
	if err != nil {
		return err
	}
	u, err := url.Parse(req.URI)
	if err != nil {
		return ice.Errorf(ice.EINVALID, "uri is not a URL: %w", err)
	}
	bucket, key, err := h.storage.signer.Target(u)
	if err != nil {
		return err
	}
	if key == "" {
		key = u.Query().Get("prefix") // a listing names its keys by prefix
	}
	id, location, err := h.storage.tableHolding(r.Context(), bucket, key)
	if err != nil {
		return err
	}
	// The route names no namespace, so the guard checked nothing: the
	// table found must be readable by the principal.
	if h.accessLevel(r, id.Namespace) < auth.Read {
		return &ice.Error{Code: ice.EFORBIDDEN, Message: fmt.Sprintf("no read access to %s; refusing to sign", id)}
	}
	return h.storage.sign(w, r, id.Namespace, location, req)
}

// maxLegacyDepth bounds the lookups of one legacy sign request.
const maxLegacyDepth = 8

// tableHolding returns the table whose files include key, and its location.
func (s *storageAccess) tableHolding(ctx context.Context, bucket, key string) (ice.TableIdent, string, error) {
	notFound := ice.Errorf(ice.EFORBIDDEN, "s3://%s/%s is not inside a table's location; refusing to sign", bucket, key)
	wh, ok, err := credentials.ParseLocation(s.svc.WarehouseLocation())
	if err != nil || !ok || wh.Bucket != bucket || !wh.Contains(key) {
		return ice.TableIdent{}, "", notFound
	}
	segs := strings.Split(strings.TrimPrefix(key, wh.Prefix+"/"), "/")
	if wh.Prefix == "" {
		segs = strings.Split(key, "/")
	}
	// segs[:i] is the namespace, segs[i] the table; the key must lie below
	// the table's directory, so i+1 < len(segs).
	for i := min(len(segs)-2, maxLegacyDepth); i >= 1; i-- {
		id := ice.TableIdent{Namespace: ice.Namespace(segs[:i]), Name: segs[i]}
		if ice.ValidateTableIdent(id) != nil {
			continue
		}
		t, err := s.svc.LoadTableRaw(ctx, id)
		if ice.ErrorCode(err) == ice.ENOTFOUND {
			continue
		}
		if err != nil {
			return ice.TableIdent{}, "", err
		}
		loc := t.Metadata.TableLocation
		if tl, ok, _ := credentials.ParseLocation(loc); ok && tl.Bucket == bucket && tl.Contains(key) {
			return id, loc, nil
		}
	}
	return ice.TableIdent{}, "", notFound
}
