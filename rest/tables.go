package rest

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/service"
)

// writeTable answers a LoadTableResult with its ETag; snapshots is
// snapshotsAll or snapshotsRefs.
func (h *Handler) writeTable(w http.ResponseWriter, r *http.Request, t *service.TableFile, snapshots string) {
	d, err := h.delegate(r, t.ID, t.Metadata.TableLocation)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeTableWith(w, r, t, snapshots, d)
}

func (h *Handler) writeTableWith(w http.ResponseWriter, r *http.Request, t *service.TableFile, snapshots string, d delegation) {
	cfg := h.tableConfigJSON(d.config)
	md := json.RawMessage(t.Metadata.Raw)
	if snapshots == snapshotsRefs {
		var err error
		if md, err = refsOnly(t.Metadata.Raw); err != nil {
			h.writeError(w, r, fmt.Errorf("table %s: %w", t.ID, err))
			return
		}
	}
	setETag(w, tableETag(t, snapshots, wantsVendedCredentials(r), h.cfgTag+d.tag))
	writeTableResult(w, &h.bufs, http.StatusOK, t.Location, md, cfg, d.creds)
}

// tableConfigJSON is tableConfig encoded: without delegation, the same
// bytes for every answer, encoded once.
func (h *Handler) tableConfigJSON(delegated map[string]string) []byte {
	if len(delegated) == 0 && h.tableCfgJSON != nil {
		return h.tableCfgJSON
	}
	b, err := json.Marshal(h.tableConfig(delegated))
	if err != nil { // a map of strings always encodes
		slog.Error("encode table config", "err", err)
		return []byte("{}")
	}
	return b
}

// tableConfig is a LoadTableResult's "config": the configured keys, plus
// those of the access delegation the client asked for.
func (h *Handler) tableConfig(delegated map[string]string) map[string]string {
	cfg := maps.Clone(h.tableCfg)
	if cfg == nil {
		cfg = map[string]string{}
	}
	maps.Copy(cfg, delegated)
	return cfg
}

func (h *Handler) listTables(w http.ResponseWriter, r *http.Request) {
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
	tables, next, err := h.svc.ListTables(r.Context(), ns, page)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listTablesResult(tables, next))
}

type tableIdentifier struct {
	Namespace []string `json:"namespace"`
	Name      string   `json:"name"`
}

func (t tableIdentifier) ident() ice.TableIdent {
	return ice.TableIdent{Namespace: ice.NamespaceFromClient(t.Namespace), Name: t.Name}
}

func listTablesResult(ids []ice.TableIdent, next string) map[string]any {
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

type createTableRequest struct {
	Name          string                 `json:"name"`
	Location      string                 `json:"location"`
	Schema        *iceberg.Schema        `json:"schema"`
	PartitionSpec *iceberg.PartitionSpec `json:"partition-spec"`
	WriteOrder    *table.SortOrder       `json:"write-order"`
	StageCreate   bool                   `json:"stage-create"`
	Properties    map[string]string      `json:"properties"`
}

func (h *Handler) createTable(w http.ResponseWriter, r *http.Request) {
	ns, err := namespaceParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var req createTableRequest
	if err := decode(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if bareClickHouseLocation(r, req.Location) {
		// The table goes to its default location (docs/clients.md).
		h.log.InfoContext(r.Context(), "createTable: ClickHouse's bare location is replaced by the default location", "table", req.Name, "sent", req.Location)
		req.Location = ""
	}
	t, err := h.svc.CreateTable(r.Context(), ns, service.CreateTable{
		Name: req.Name, Location: req.Location, Schema: req.Schema, Spec: req.PartitionSpec,
		SortOrder: req.WriteOrder, Properties: req.Properties, StageCreate: req.StageCreate,
	})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeTable(w, r, t.File(), snapshotsAll)
}

func (h *Handler) loadTable(w http.ResponseWriter, r *http.Request) {
	id, err := tableParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	mode := r.URL.Query().Get("snapshots")
	switch mode {
	case "":
		mode = snapshotsAll // the spec's default; same body, so same ETag
	case snapshotsAll, snapshotsRefs:
	default:
		h.writeError(w, r, ice.Errorf(ice.EINVALID, "snapshots must be all or refs, got %q", mode))
		return
	}
	inm := r.Header.Get("If-None-Match")
	if inm != "" && !h.vendsDynamically(r) {
		// Only the pointer decides the ETag: a client with a current copy
		// is answered without reading the metadata file.
		loc, err := h.svc.TableLocation(r.Context(), id)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if etag := tableETag(&service.TableFile{ID: id, Location: loc}, mode, wantsVendedCredentials(r), h.cfgTag+h.signingTag(r)); noneMatch(inm, etag) {
			setETag(w, etag)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		// The pointer just read is current: answer from it rather than
		// read it from etcd a second time.
		t, err := h.svc.TableRawAt(r.Context(), id, loc)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		h.writeTable(w, r, t, mode)
		return
	}
	t, err := h.svc.LoadTableRaw(r.Context(), id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	d, err := h.delegate(r, id, t.Metadata.TableLocation)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if inm != "" && h.vendsDynamically(r) {
		// Temporary keys are part of the body: the client's copy is
		// current only if it holds the keys the cache holds now.
		if etag := tableETag(t, mode, true, h.cfgTag+d.tag); noneMatch(inm, etag) {
			setETag(w, etag)
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.writeTableWith(w, r, t, mode, d)
}

func (h *Handler) tableExists(w http.ResponseWriter, r *http.Request) {
	id, err := tableParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ok, err := h.svc.TableExists(r.Context(), id)
	h.writeExists(w, r, ok, err)
}

type commitTableRequest struct {
	Identifier   *tableIdentifier   `json:"identifier"`
	Requirements table.Requirements `json:"requirements"`
	Updates      table.Updates      `json:"updates"`
}

func (h *Handler) commitTable(w http.ResponseWriter, r *http.Request) {
	id, err := tableParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var req commitTableRequest
	if err := decode(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.Identifier != nil && req.Identifier.ident().String() != id.String() {
		h.writeError(w, r, ice.Errorf(ice.EINVALID, "identifier %s in the body does not match %s in the path", req.Identifier.ident(), id))
		return
	}
	t, err := h.svc.CommitTable(r.Context(), service.TableChange{ID: id, Requirements: req.Requirements, Updates: req.Updates, RepairManifests: isClickHouse(r)})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeCommit(w, r, t)
}

// writeCommit answers a committed table: a LoadTableResult without config.
func (h *Handler) writeCommit(w http.ResponseWriter, r *http.Request, t *service.Table) {
	// The ETag is the one a loadTable with the same headers would give for
	// this metadata, so a client can send it back in If-None-Match.
	setETag(w, tableETag(t.File(), snapshotsAll, wantsVendedCredentials(r), h.cfgTag+h.signingTag(r)))
	writeTableResult(w, &h.bufs, http.StatusOK, t.Location, t.Metadata.Raw, nil, nil)
}

func (h *Handler) dropTable(w http.ResponseWriter, r *http.Request) {
	id, err := tableParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	purge := false
	if s := r.URL.Query().Get("purgeRequested"); s != "" {
		if purge, err = strconv.ParseBool(s); err != nil {
			h.writeError(w, r, ice.Errorf(ice.EINVALID, "purgeRequested must be true or false, got %q", s))
			return
		}
	}
	if err := h.svc.DropTable(r.Context(), id, purge); err != nil {
		h.writeError(w, r, err)
		return
	}
	if isClickHouse(r) {
		// ClickHouse 26.7 sends a DELETE again when it gets 204 (its HTTP
		// read buffer takes the empty answer as a broken one and retries),
		// then reports the second answer, 404, as a failed DROP TABLE. A 200
		// with an empty body ends its request (docs/clients.md).
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type registerTableRequest struct {
	Name             string `json:"name"`
	MetadataLocation string `json:"metadata-location"`
	Overwrite        bool   `json:"overwrite"`
}

func (h *Handler) registerTable(w http.ResponseWriter, r *http.Request) {
	ns, err := namespaceParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var req registerTableRequest
	if err := decode(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	t, err := h.svc.RegisterTable(r.Context(), ice.TableIdent{Namespace: ns, Name: req.Name}, req.MetadataLocation, req.Overwrite)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeTable(w, r, t.File(), snapshotsAll)
}

// unregisterTableResult is the spec's UnregisterTableResult.
type unregisterTableResult struct {
	MetadataLocation string          `json:"metadata-location"`
	Metadata         json.RawMessage `json:"metadata"`
}

// unregisterTable removes the table from the catalog and leaves every file
// in place, so the table can be registered elsewhere from the answer.
func (h *Handler) unregisterTable(w http.ResponseWriter, r *http.Request) {
	id, err := tableParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	t, err := h.svc.UnregisterTable(r.Context(), id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, unregisterTableResult{MetadataLocation: t.Location, Metadata: t.Metadata.Raw})
}

type renameTableRequest struct {
	Source      *tableIdentifier `json:"source"`
	Destination *tableIdentifier `json:"destination"`
}

func (h *Handler) renameTable(w http.ResponseWriter, r *http.Request) {
	var req renameTableRequest
	if err := decode(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.Source == nil || req.Destination == nil {
		h.writeError(w, r, ice.Errorf(ice.EINVALID, "rename requires source and destination"))
		return
	}
	if err := h.svc.RenameTable(r.Context(), req.Source.ident(), req.Destination.ident()); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// reportMetrics accepts a client's scan or commit report. The catalog keeps
// no report; it checks the table exists so a typo is not silently dropped.
func (h *Handler) reportMetrics(w http.ResponseWriter, r *http.Request) {
	id, err := tableParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var report map[string]any
	if err := decode(r, &report); err != nil {
		h.writeError(w, r, err)
		return
	}
	ok, err := h.svc.TableExists(r.Context(), id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if !ok {
		h.writeError(w, r, ice.NoSuchTable(id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type commitTransactionRequest struct {
	TableChanges []commitTableRequest `json:"table-changes"`
}

func (h *Handler) commitTransaction(w http.ResponseWriter, r *http.Request) {
	var req commitTransactionRequest
	if err := decode(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	changes := make([]service.TableChange, len(req.TableChanges))
	for i, c := range req.TableChanges {
		if c.Identifier == nil {
			h.writeError(w, r, ice.Errorf(ice.EINVALID, "table-changes[%d] has no identifier", i))
			return
		}
		changes[i] = service.TableChange{ID: c.Identifier.ident(), Requirements: c.Requirements, Updates: c.Updates, RepairManifests: isClickHouse(r)}
	}
	if err := h.svc.CommitTransaction(r.Context(), changes); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// bareClickHouseLocation reports whether loc is a location without a scheme
// sent by ClickHouse: when it creates a table it sends the path of its
// IcebergS3 URL ("/ns/t/", without scheme or bucket) as the table's location,
// and the same as its namespace's "location" property. That path means "the
// table's place in the warehouse"; any other client's scheme-less location
// is refused by the location rule (ice.LocationRule).
func bareClickHouseLocation(r *http.Request, loc string) bool {
	return loc != "" && isClickHouse(r) && !strings.Contains(loc, "://")
}

// isClickHouse reports whether the request comes from ClickHouse's
// DataLakeCatalog, whose User-Agent is ClickHouse/<version>.
func isClickHouse(r *http.Request) bool {
	return strings.HasPrefix(r.UserAgent(), "ClickHouse/")
}
