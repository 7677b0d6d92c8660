package rest

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/auth"
	"github.com/ice-rest-catalog/ice/service"
)

// adminRoutes serves the catalog export and import of the Java
// ice-rest-catalog, in its JSON shape (ice.CatalogSnapshot). They are not
// part of the Iceberg REST spec and are not advertised by /v1/config.
func (h *Handler) adminRoutes(a ice.CatalogAdmin) {
	if a == nil {
		return
	}
	h.mux.HandleFunc("GET /admin/v1/catalog-export", h.serve(h.admin(func(w http.ResponseWriter, r *http.Request, _ *input) error {
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
	})))
	h.mux.HandleFunc("POST /admin/v1/catalog-import", h.serve(h.admin(func(w http.ResponseWriter, r *http.Request, in *input) error {
		dryRun, err := boolParam(r, "dry-run")
		if err != nil {
			return err
		}
		overwrite, err := boolParam(r, "overwrite")
		if err != nil {
			return err
		}
		who, _ := auth.FromContext(r.Context())
		acc := access{op: "catalogImport", level: auth.Admin}
		var snap ice.CatalogSnapshot
		err = in.decode(&snap)
		if err == nil {
			err = h.checkImport(&snap)
		}
		if err != nil {
			h.auditAlways(r, who, acc, "", "invalid", err, "dryRun", dryRun, "overwrite", overwrite)
			return err
		}
		res, err := a.ImportCatalog(r.Context(), &snap, dryRun, overwrite)
		if err != nil {
			h.auditAlways(r, who, acc, "", "error", err, "dryRun", dryRun, "overwrite", overwrite)
			return err
		}
		var claimed service.BackfillReport
		if !dryRun {
			// The imported entries arrive without location claims: claim
			// them now, so the overlap rule sees them at once.
			if claimed, err = h.svc.BackfillLocations(r.Context()); err != nil {
				h.log.WarnContext(r.Context(), "catalog import: location claims incomplete", "err", err)
			}
		}
		h.auditAlways(r, who, acc, "", "ok", nil, "dryRun", dryRun, "overwrite", overwrite,
			"created", res.Created, "skipped", res.Skipped, "overwritten", res.Overwritten, "from", res.CatalogName,
			"locationsClaimed", claimed.Indexed, "locationsRefused", claimed.Refused)
		writeJSON(w, http.StatusOK, res)
		return nil
	})))
}

// checkImport applies the location rule to every table entry's
// metadata_location (and previous_metadata_location) before anything is
// written: an import must not point a table at files outside the
// warehouse and the allowed locations.
func (h *Handler) checkImport(snap *ice.CatalogSnapshot) error {
	for _, t := range snap.Tables {
		for _, k := range []string{"metadata_location", "previous_metadata_location"} {
			v, ok := t.Value[k]
			if !ok || (v == "" && k != "metadata_location") {
				continue
			}
			if _, err := h.svc.CheckStoredLocation(v); err != nil {
				msg := err.Error()
				if e := (*ice.Error)(nil); errors.As(err, &e) {
					msg = e.Message
				}
				return ice.Errorf(ice.EINVALID, "catalog import: table entry %q: %s: %s", t.Key, k, msg)
			}
		}
	}
	return nil
}

// admin refuses, before fn runs, whoever may not use the admin API.
func (h *Handler) admin(fn handler) handler {
	return func(w http.ResponseWriter, r *http.Request, in *input) error {
		who, ok := auth.FromContext(r.Context())
		if !h.isAdmin(who, ok) {
			return &ice.Error{Code: ice.EFORBIDDEN, Message: fmt.Sprintf("%s may not use the admin API: it needs catalog-wide admin access and a bearer token", who.Name)}
		}
		return fn(w, r, in)
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
