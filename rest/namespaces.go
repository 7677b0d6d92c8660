package rest

import (
	"net/http"
	"strconv"

	ice "github.com/ice-rest-catalog/ice"
)

func (h *Handler) getConfig(w http.ResponseWriter, r *http.Request, _ *input) error {
	// ?warehouse= is accepted for clients that always send it (ClickHouse,
	// Spark); one server serves one warehouse.
	cfg := map[string]any{
		"defaults":  map[string]string{},
		"overrides": map[string]string{},
		"endpoints": h.Endpoints(),
	}
	if h.idem != nil {
		cfg["idempotency-key-lifetime"] = isoDuration(h.idem.lifetime)
	}
	writeJSON(w, http.StatusOK, cfg)
	return nil
}

func pageParams(r *http.Request) (ice.Page, error) {
	p := ice.Page{Token: r.URL.Query().Get("pageToken")}
	if s := r.URL.Query().Get("pageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return p, ice.Errorf(ice.EINVALID, "pageSize must be a positive integer, got %q", s)
		}
		p.Size = n
	}
	return p, nil
}

func (h *Handler) listNamespaces(w http.ResponseWriter, r *http.Request, _ *input) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	var parent ice.Namespace
	if p := r.URL.Query().Get("parent"); p != "" {
		if parent, err = parseNamespace(p); err != nil {
			return err
		}
	}
	children, next, err := h.svc.ListNamespaces(r.Context(), parent, page)
	if err != nil {
		return err
	}
	out := make([][]string, len(children))
	for i, ns := range children {
		out[i] = ns
	}
	resp := map[string]any{"namespaces": out}
	if next != "" {
		resp["next-page-token"] = next
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

type createNamespaceRequest struct {
	Namespace  []string          `json:"namespace"`
	Properties map[string]string `json:"properties"`
}

func (h *Handler) createNamespace(w http.ResponseWriter, r *http.Request, in *input) error {
	var req createNamespaceRequest
	if err := in.decode(&req); err != nil {
		return err
	}
	if req.Properties == nil {
		req.Properties = map[string]string{}
	}
	req.Namespace = ice.NamespaceFromClient(req.Namespace)
	if loc, ok := req.Properties["location"]; ok && bareClickHouseLocation(r, loc) {
		// Kept, it would be refused by the location rule, and the
		// CREATE TABLE that sent it would fail (docs/clients.md).
		delete(req.Properties, "location")
		h.log.InfoContext(r.Context(), "createNamespace: ClickHouse's bare location is ignored", "namespace", ice.Namespace(req.Namespace).String(), "sent", loc)
	}
	if err := h.svc.CreateNamespace(r.Context(), req.Namespace, req.Properties); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"namespace": req.Namespace, "properties": req.Properties})
	return nil
}

func (h *Handler) loadNamespace(w http.ResponseWriter, r *http.Request, _ *input) error {
	ns, err := namespaceParam(r)
	if err != nil {
		return err
	}
	props, err := h.svc.LoadNamespace(r.Context(), ns)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"namespace": []string(ns), "properties": props})
	return nil
}

func (h *Handler) namespaceExists(w http.ResponseWriter, r *http.Request, _ *input) error {
	ns, err := namespaceParam(r)
	if err != nil {
		return err
	}
	ok, err := h.svc.NamespaceExists(r.Context(), ns)
	return writeExists(w, ok, err)
}

func (h *Handler) dropNamespace(w http.ResponseWriter, r *http.Request, _ *input) error {
	ns, err := namespaceParam(r)
	if err == nil {
		err = h.svc.DropNamespace(r.Context(), ns)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type updateNamespacePropertiesRequest struct {
	Removals []string          `json:"removals"`
	Updates  map[string]string `json:"updates"`
}

func (h *Handler) updateNamespaceProperties(w http.ResponseWriter, r *http.Request, in *input) error {
	ns, err := namespaceParam(r)
	if err != nil {
		return err
	}
	var req updateNamespacePropertiesRequest
	if err := in.decode(&req); err != nil {
		return err
	}
	res, err := h.svc.UpdateNamespaceProperties(r.Context(), ns, req.Removals, req.Updates)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"updated": res.Updated, "removed": res.Removed, "missing": res.Missing})
	return nil
}
