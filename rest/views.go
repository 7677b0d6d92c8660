package rest

import (
	"encoding/json"
	"net/http"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/view"

	"github.com/ice-rest-catalog/ice/service"
)

const viewPath = nsPath + "/views/{view}"

// viewRoutes are the view endpoints: all of them shared with tables.
func (h *Handler) viewRoutes() []route {
	return h.entryRoutes(views, entryHandlers{create: h.createView, load: h.loadView, commit: h.replaceView,
		drop: h.dropView, register: h.registerView})
}

// loadViewResult is the spec's LoadViewResult. Metadata is the metadata
// file's own JSON, sent as read.
type loadViewResult struct {
	MetadataLocation string            `json:"metadata-location"`
	Metadata         json.RawMessage   `json:"metadata"`
	Config           map[string]string `json:"config"`
}

// writeView answers a LoadViewResult, or err. Its config is empty: the
// table config carries storage settings for data files, which a view has
// none of.
func writeView(w http.ResponseWriter, v *service.View, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, loadViewResult{MetadataLocation: v.Location, Metadata: v.Metadata.Raw, Config: map[string]string{}})
	return nil
}

type createViewRequest struct {
	Name        string            `json:"name"`
	Location    string            `json:"location"`
	Schema      *iceberg.Schema   `json:"schema"`
	ViewVersion *view.Version     `json:"view-version"`
	Properties  map[string]string `json:"properties"`
}

func (h *Handler) createView(w http.ResponseWriter, r *http.Request, in *input) error {
	ns, err := namespaceParam(r)
	if err != nil {
		return err
	}
	var req createViewRequest
	if err := in.decode(&req); err != nil {
		return err
	}
	v, err := h.svc.CreateView(r.Context(), ns, service.CreateView{
		Name: req.Name, Location: req.Location, Schema: req.Schema, Version: req.ViewVersion, Properties: req.Properties,
	})
	return writeView(w, v, err)
}

func (h *Handler) loadView(w http.ResponseWriter, r *http.Request, _ *input) error {
	id, err := entryParam(r, views)
	if err != nil {
		return err
	}
	v, err := h.svc.LoadView(r.Context(), id)
	return writeView(w, v, err)
}

func (h *Handler) replaceView(w http.ResponseWriter, r *http.Request, in *input) error {
	id, req, err := decodeCommit[view.Requirements, view.Updates](r, in, views)
	if err != nil {
		return err
	}
	v, err := h.svc.ReplaceView(r.Context(), service.ViewChange{ID: id, Requirements: req.Requirements, Updates: req.Updates})
	return writeView(w, v, err)
}

func (h *Handler) dropView(w http.ResponseWriter, r *http.Request, _ *input) error {
	id, err := entryParam(r, views)
	if err == nil {
		err = h.svc.DropView(r.Context(), id)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) registerView(w http.ResponseWriter, r *http.Request, in *input) error {
	id, req, err := decodeRegister(r, in)
	if err != nil {
		return err
	}
	v, err := h.svc.RegisterView(r.Context(), id, req.MetadataLocation)
	return writeView(w, v, err)
}
