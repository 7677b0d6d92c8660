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
	if h.signer == nil {
		return nil
	}
	return []route{
		{signTablePath, h.signTable, "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/sign"},
		{signLegacyPath, h.signLegacy, ""},
	}
}

func decodeSignRequest(r *http.Request) (credentials.SignRequest, error) {
	var req credentials.SignRequest
	if err := decode(r, &req); err != nil {
		return req, err
	}
	if req.URI == "" || req.Method == "" {
		return req, ice.Errorf(ice.EINVALID, "a sign request needs uri and method")
	}
	return req, nil
}

// signTable signs a request for the table in the path.
func (h *Handler) signTable(w http.ResponseWriter, r *http.Request) {
	id, err := tableParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	req, err := decodeSignRequest(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	t, err := h.svc.LoadTableRaw(r.Context(), id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.signFor(w, r, id.Namespace, t.Metadata.TableLocation, req)
}

func (h *Handler) signFor(w http.ResponseWriter, r *http.Request, ns ice.Namespace, location string, req credentials.SignRequest) {
	// The table's location itself must be one the location rule confirms
	// (not a bucket root, not outside the warehouse and the allowed
	// locations): the signer then confines each request to it.
	if _, err := h.svc.CheckStoredLocation(location); err != nil {
		h.writeError(w, r, err)
		return
	}
	loc, ok, err := credentials.ParseLocation(location)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if !ok {
		h.writeError(w, r, ice.Errorf(ice.EFORBIDDEN, "table location %s is not in S3; nothing to sign", location))
		return
	}
	access, _ := h.accessOf(r, ns)
	res, err := h.signer.Sign(r.Context(), loc, access, req)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// signLegacy signs for whichever table holds the request's key. The path
// names no table, so the table is found from the key: with the default
// layout <warehouse>/<ns levels>/<table>/..., each split of the key into
// namespace and table name is tried, deepest first. Tables placed
// elsewhere (an explicit location, a namespace location property) are only
// reachable through the per-table endpoint, which loadTable advertises.
func (h *Handler) signLegacy(w http.ResponseWriter, r *http.Request) {
	req, err := decodeSignRequest(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	u, err := url.Parse(req.URI)
	if err != nil {
		h.writeError(w, r, ice.Errorf(ice.EINVALID, "uri is not a URL: %v", err))
		return
	}
	bucket, key, err := h.signer.Target(u)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if key == "" {
		key = u.Query().Get("prefix") // a listing names its keys by prefix
	}
	id, location, err := h.tableHolding(r.Context(), bucket, key)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// The route names no namespace, so the guard checked nothing: the
	// table found must be readable by the principal.
	if h.accessLevel(r, id.Namespace) < auth.Read {
		h.writeError(w, r, &ice.Error{Code: ice.EFORBIDDEN, Message: fmt.Sprintf("no read access to %s; refusing to sign", id)})
		return
	}
	h.signFor(w, r, id.Namespace, location, req)
}

// maxLegacyDepth bounds the lookups of one legacy sign request.
const maxLegacyDepth = 8

// tableHolding returns the table whose files include key, and its location.
func (h *Handler) tableHolding(ctx context.Context, bucket, key string) (ice.TableIdent, string, error) {
	notFound := ice.Errorf(ice.EFORBIDDEN, "s3://%s/%s is not inside a table's location; refusing to sign", bucket, key)
	wh, ok, err := credentials.ParseLocation(h.svc.WarehouseLocation())
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
		t, err := h.svc.LoadTableRaw(ctx, id)
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
