package rest

import (
	"encoding/json"
	"net/http"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/view"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/service"
)

const viewPath = nsPath + "/views/{view}"

// viewRoutes are the view endpoints, appended to routes() and advertised:
// iceberg-go and Java clients enable views only when /v1/config lists them.
func (h *Handler) viewRoutes() []route {
	return []route{
		{"GET " + nsPath + "/views", h.listViews, "GET /v1/{prefix}/namespaces/{namespace}/views"},
		{"POST " + nsPath + "/views", h.createView, "POST /v1/{prefix}/namespaces/{namespace}/views"},
		{"GET " + viewPath, h.loadView, "GET /v1/{prefix}/namespaces/{namespace}/views/{view}"},
		{"HEAD " + viewPath, h.viewExists, "HEAD /v1/{prefix}/namespaces/{namespace}/views/{view}"},
		{"POST " + viewPath, h.replaceView, "POST /v1/{prefix}/namespaces/{namespace}/views/{view}"},
		{"DELETE " + viewPath, h.dropView, "DELETE /v1/{prefix}/namespaces/{namespace}/views/{view}"},
		{"POST " + nsPath + "/register-view", h.registerView, "POST /v1/{prefix}/namespaces/{namespace}/register-view"},
		{"POST /v1/views/rename", h.renameView, "POST /v1/{prefix}/views/rename"},
	}
}

// loadViewResult is the spec's LoadViewResult. Metadata is the metadata
// file's own JSON, sent as read.
type loadViewResult struct {
	MetadataLocation string            `json:"metadata-location"`
	Metadata         json.RawMessage   `json:"metadata"`
	Config           map[string]string `json:"config"`
}

// writeView answers a LoadViewResult. Its config is empty: the table config
// carries storage settings for data files, which a view has none of.
func writeView(w http.ResponseWriter, v *service.View) {
	writeJSON(w, http.StatusOK, loadViewResult{MetadataLocation: v.Location, Metadata: v.Metadata.Raw, Config: map[string]string{}})
}

func viewParam(r *http.Request) (ice.TableIdent, error) {
	ns, err := namespaceParam(r)
	if err != nil {
		return ice.TableIdent{}, err
	}
	id := ice.TableIdent{Namespace: ns, Name: r.PathValue("view")}
	return id, ice.ValidateTableIdent(id)
}

func (h *Handler) listViews(w http.ResponseWriter, r *http.Request) {
	ns, err := namespaceParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	page, err := pageParams(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	views, next, err := h.svc.ListViews(r.Context(), ns, page)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listTablesResult(views, next))
}

type createViewRequest struct {
	Name        string            `json:"name"`
	Location    string            `json:"location"`
	Schema      *iceberg.Schema   `json:"schema"`
	ViewVersion *view.Version     `json:"view-version"`
	Properties  map[string]string `json:"properties"`
}

func (h *Handler) createView(w http.ResponseWriter, r *http.Request) {
	ns, err := namespaceParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var req createViewRequest
	if err := decode(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	v, err := h.svc.CreateView(r.Context(), ns, service.CreateView{
		Name: req.Name, Location: req.Location, Schema: req.Schema, Version: req.ViewVersion, Properties: req.Properties,
	})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeView(w, v)
}

func (h *Handler) loadView(w http.ResponseWriter, r *http.Request) {
	id, err := viewParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	v, err := h.svc.LoadView(r.Context(), id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeView(w, v)
}

func (h *Handler) viewExists(w http.ResponseWriter, r *http.Request) {
	id, err := viewParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ok, err := h.svc.ViewExists(r.Context(), id)
	h.writeExists(w, r, ok, err)
}

type commitViewRequest struct {
	Identifier   *tableIdentifier  `json:"identifier"`
	Requirements view.Requirements `json:"requirements"`
	Updates      view.Updates      `json:"updates"`
}

func (h *Handler) replaceView(w http.ResponseWriter, r *http.Request) {
	id, err := viewParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var req commitViewRequest
	if err := decode(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.Identifier != nil && req.Identifier.ident().String() != id.String() {
		h.writeError(w, r, ice.Errorf(ice.EINVALID, "identifier %s in the body does not match %s in the path", req.Identifier.ident(), id))
		return
	}
	v, err := h.svc.ReplaceView(r.Context(), service.ViewChange{ID: id, Requirements: req.Requirements, Updates: req.Updates})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeView(w, v)
}

func (h *Handler) dropView(w http.ResponseWriter, r *http.Request) {
	id, err := viewParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.svc.DropView(r.Context(), id); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type registerViewRequest struct {
	Name             string `json:"name"`
	MetadataLocation string `json:"metadata-location"`
}

func (h *Handler) registerView(w http.ResponseWriter, r *http.Request) {
	ns, err := namespaceParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var req registerViewRequest
	if err := decode(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	v, err := h.svc.RegisterView(r.Context(), ice.TableIdent{Namespace: ns, Name: req.Name}, req.MetadataLocation)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeView(w, v)
}

func (h *Handler) renameView(w http.ResponseWriter, r *http.Request) {
	var req renameTableRequest // the spec's RenameTableRequest serves views too
	if err := decode(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.Source == nil || req.Destination == nil {
		h.writeError(w, r, ice.Errorf(ice.EINVALID, "rename requires source and destination"))
		return
	}
	if err := h.svc.RenameView(r.Context(), req.Source.ident(), req.Destination.ident()); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
