package rest

import (
	"maps"
	"net/http"
)

// storageCredential is the spec's StorageCredential.
type storageCredential struct {
	Prefix string            `json:"prefix"`
	Config map[string]string `json:"config"`
}

// loadCredentialsResult is the spec's LoadCredentialsResponse.
type loadCredentialsResult struct {
	StorageCredentials []storageCredential `json:"storage-credentials"`
}

// loadCredentials answers the keys loadTable vends, scoped to the table's
// location. The endpoint exists only to vend, so it needs no
// X-Iceberg-Access-Delegation header. With nothing to vend the list is empty,
// not null: the field is required to be an array.
func (h *Handler) loadCredentials(w http.ResponseWriter, r *http.Request) {
	id, err := tableParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	t, err := h.svc.LoadTable(r.Context(), id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := loadCredentialsResult{StorageCredentials: []storageCredential{}}
	if len(h.vendCfg) > 0 {
		out.StorageCredentials = append(out.StorageCredentials,
			storageCredential{Prefix: t.Metadata.Parsed.Location(), Config: maps.Clone(h.vendCfg)})
	}
	writeJSON(w, http.StatusOK, out)
}
