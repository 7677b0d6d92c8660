package rest

import (
	"context"
	"net/http"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/service"
)

// Tables and views are entries of a namespace with the same endpoints:
// list, create, load, exists, commit, drop, register and rename. An
// entryKind holds what differs between the two; the handlers that are the
// same for both take it as a parameter.
type entryKind struct {
	segment  string // the collection's path segment: "tables" or "views"
	param    string // the wildcard naming one entry: "table" or "view"
	register string // the register route's last segment
	list     func(*service.Service, context.Context, ice.Namespace, ice.Page) ([]ice.TableIdent, string, error)
	exists   func(*service.Service, context.Context, ice.TableIdent) (bool, error)
	rename   func(s *service.Service, ctx context.Context, from, to ice.TableIdent) error
}

var (
	tables = entryKind{segment: "tables", param: "table", register: "register",
		list: (*service.Service).ListTables, exists: (*service.Service).TableExists, rename: (*service.Service).RenameTable}
	views = entryKind{segment: "views", param: "view", register: "register-view",
		list: (*service.Service).ListViews, exists: (*service.Service).ViewExists, rename: (*service.Service).RenameView}
)

// entryHandlers are a kind's own handlers, whose requests or answers
// differ in shape.
type entryHandlers struct {
	create, load, commit, drop, register handler
}

// entryRoutes are a kind's routes, all advertised: iceberg-go and Java
// clients enable views only when /v1/config lists them.
func (h *Handler) entryRoutes(k entryKind, own entryHandlers) []route {
	coll := nsPath + "/" + k.segment
	one := coll + "/{" + k.param + "}"
	return []route{
		{"GET " + coll, h.listEntries(k), true},
		{"POST " + coll, own.create, true},
		{"GET " + one, own.load, true},
		{"HEAD " + one, h.entryExists(k), true},
		{"POST " + one, own.commit, true},
		{"DELETE " + one, own.drop, true},
		{"POST " + nsPath + "/" + k.register, own.register, true},
		{"POST /v1/" + k.segment + "/rename", h.renameEntry(k), true},
	}
}

// entryParam parses the path's namespace and entry name.
func entryParam(r *http.Request, k entryKind) (ice.TableIdent, error) {
	ns, err := namespaceParam(r)
	if err != nil {
		return ice.TableIdent{}, err
	}
	id := ice.TableIdent{Namespace: ns, Name: r.PathValue(k.param)}
	return id, ice.ValidateTableIdent(id)
}

func tableParam(r *http.Request) (ice.TableIdent, error) { return entryParam(r, tables) }

func (h *Handler) listEntries(k entryKind) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *input) error {
		ns, err := namespaceParam(r)
		if err != nil {
			return err
		}
		page, err := pageParams(r)
		if err != nil {
			return err
		}
		ids, next, err := k.list(h.svc, r.Context(), ns, page)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, listEntriesResult(ids, next))
		return nil
	}
}

type tableIdentifier struct {
	Namespace []string `json:"namespace"`
	Name      string   `json:"name"`
}

func (t tableIdentifier) ident() ice.TableIdent {
	return ice.TableIdent{Namespace: ice.NamespaceFromClient(t.Namespace), Name: t.Name}
}

// listEntriesResult is the spec's ListTablesResponse, which lists views too.
func listEntriesResult(ids []ice.TableIdent, next string) map[string]any {
	out := make([]tableIdentifier, len(ids))
	for i, id := range ids {
		out[i] = tableIdentifier{Namespace: id.Namespace, Name: id.Name}
	}
	resp := map[string]any{"identifiers": out}
	if next != "" {
		resp["next-page-token"] = next
	}
	return resp
}

func (h *Handler) entryExists(k entryKind) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *input) error {
		id, err := entryParam(r, k)
		if err != nil {
			return err
		}
		ok, err := k.exists(h.svc, r.Context(), id)
		return writeExists(w, ok, err)
	}
}

// commitRequest is the spec's CommitTableRequest (R and U are iceberg-go's
// table requirements and updates) and CommitViewRequest (the view ones).
type commitRequest[R, U any] struct {
	Identifier   *tableIdentifier `json:"identifier"`
	Requirements R                `json:"requirements"`
	Updates      U                `json:"updates"`
}

// decodeCommit reads a commit of the entry in the path; an identifier in
// the body must name the same entry.
func decodeCommit[R, U any](r *http.Request, in *input, k entryKind) (ice.TableIdent, commitRequest[R, U], error) {
	var req commitRequest[R, U]
	id, err := entryParam(r, k)
	if err != nil {
		return id, req, err
	}
	if err := in.decode(&req); err != nil {
		return id, req, err
	}
	if req.Identifier != nil && req.Identifier.ident().String() != id.String() {
		return id, req, ice.Errorf(ice.EINVALID, "identifier %s in the body does not match %s in the path", req.Identifier.ident(), id)
	}
	return id, req, nil
}

// renameRequest is the spec's RenameTableRequest, which serves views too.
type renameRequest struct {
	Source      *tableIdentifier `json:"source"`
	Destination *tableIdentifier `json:"destination"`
}

func (h *Handler) renameEntry(k entryKind) handler {
	return func(w http.ResponseWriter, r *http.Request, in *input) error {
		var req renameRequest
		if err := in.decode(&req); err != nil {
			return err
		}
		if req.Source == nil || req.Destination == nil {
			return ice.Errorf(ice.EINVALID, "rename requires source and destination")
		}
		if err := k.rename(h.svc, r.Context(), req.Source.ident(), req.Destination.ident()); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// registerRequest is the spec's RegisterTableRequest and
// RegisterViewRequest; a view has no overwrite.
type registerRequest struct {
	Name             string `json:"name"`
	MetadataLocation string `json:"metadata-location"`
	Overwrite        bool   `json:"overwrite"`
}

// decodeRegister reads a register request for the path's namespace.
func decodeRegister(r *http.Request, in *input) (ice.TableIdent, registerRequest, error) {
	var req registerRequest
	ns, err := namespaceParam(r)
	if err != nil {
		return ice.TableIdent{}, req, err
	}
	err = in.decode(&req)
	return ice.TableIdent{Namespace: ns, Name: req.Name}, req, err
}

// writeExists answers a HEAD: 204 when the entry exists, 404 when not.
func writeExists(w http.ResponseWriter, ok bool, err error) error {
	switch {
	case err != nil:
		return err
	case ok:
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
	return nil
}
