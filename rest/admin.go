package rest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/auth"
)

// adminRoutes serves the catalog export and import of the Java
// ice-rest-catalog, in its JSON shape (ice.CatalogSnapshot). They are not
// part of the Iceberg REST spec and are not advertised by /v1/config.
func (h *Handler) adminRoutes(a ice.CatalogAdmin) {
	if a == nil {
		return
	}
	h.mux.HandleFunc("GET /admin/v1/catalog-export", h.admin(func(w http.ResponseWriter, r *http.Request) error {
		var ns ice.Namespace
		if f := r.URL.Query().Get("namespace"); f != "" {
			// Levels may be joined by ".", "/" or the spec's 0x1F; a level
			// can contain none of them.
			ns = strings.FieldsFunc(f, func(c rune) bool { return c == '.' || c == '/' || c == 0x1f })
			if err := ice.ValidateNamespace(ns); err != nil {
				return err
			}
		}
		snap, err := a.ExportCatalog(r.Context(), ns)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Disposition", `attachment; filename="catalog-export.json"`)
		writeJSON(w, http.StatusOK, snap)
		return nil
	}))
	h.mux.HandleFunc("POST /admin/v1/catalog-import", h.admin(func(w http.ResponseWriter, r *http.Request) error {
		dryRun, err := boolParam(r, "dry-run")
		if err != nil {
			return err
		}
		overwrite, err := boolParam(r, "overwrite")
		if err != nil {
			return err
		}
		var snap ice.CatalogSnapshot
		if err := decode(r, &snap); err != nil {
			return err
		}
		res, err := a.ImportCatalog(r.Context(), &snap, dryRun, overwrite)
		if err != nil {
			return err
		}
		h.log.InfoContext(r.Context(), "catalog import", "dryRun", dryRun, "overwrite", overwrite,
			"created", res.Created, "skipped", res.Skipped, "overwritten", res.Overwritten, "from", res.CatalogName)
		writeJSON(w, http.StatusOK, res)
		return nil
	}))
}

// admin checks isAdmin before fn and writes fn's error.
func (h *Handler) admin(fn func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who, ok := auth.FromContext(r.Context())
		if !h.isAdmin(who, ok) {
			h.writeError(w, r, &ice.Error{Code: ice.EFORBIDDEN, Message: fmt.Sprintf("%s may not use the admin API: it needs catalog-wide admin access and a bearer token", who.Name)})
			return
		}
		if err := fn(w, r); err != nil {
			h.writeError(w, r, err)
		}
	}
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, ice.Errorf(ice.EINVALID, "query parameter %s=%q is not true or false", name, v)
	}
	return b, nil
}
