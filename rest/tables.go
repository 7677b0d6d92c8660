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

// tableRoutes are the table endpoints; those shared with views come from
// entryRoutes.
func (h *Handler) tableRoutes() []route {
	rts := h.entryRoutes(tables, entryHandlers{create: h.createTable, load: h.loadTable, commit: h.commitTable,
		drop: h.dropTable, register: h.registerTable})
	rename := rts[len(rts)-1]
	return append(rts[:len(rts)-1],
		route{"POST " + tablePath + "/metrics", h.reportMetrics, true},
		route{"GET " + tablePath + "/credentials", h.loadCredentials, true},
		route{"POST " + tablePath + "/unregister", h.unregisterTable, true},
		rename,
		route{"POST /v1/transactions/commit", h.commitTransaction, true},
	)
}

// tableConfig is the configured part of every table answer's "config",
// and the fingerprint of the server's config that is part of every ETag.
type tableConfig struct {
	base    map[string]string
	encoded []byte // with(nil), encoded once
	tag     string
}

func newTableConfig(base, vended map[string]string, signerURI string) tableConfig {
	c := tableConfig{base: base, tag: configFingerprint(base, vended, map[string]string{"signerURI": signerURI})}
	c.encoded, _ = json.Marshal(c.with(nil)) // a map of strings always encodes
	return c
}

// with is a LoadTableResult's "config": the configured keys, plus those of
// the access delegation the client asked for.
func (c tableConfig) with(delegated map[string]string) map[string]string {
	cfg := maps.Clone(c.base)
	if cfg == nil {
		cfg = map[string]string{}
	}
	maps.Copy(cfg, delegated)
	return cfg
}

// json is with encoded: without delegation, the same bytes for every
// answer, encoded once.
func (c tableConfig) json(delegated map[string]string) []byte {
	if len(delegated) == 0 && c.encoded != nil {
		return c.encoded
	}
	b, err := json.Marshal(c.with(delegated))
	if err != nil { // a map of strings always encodes
		slog.Error("encode table config", "err", err)
		return []byte("{}")
	}
	return b
}

// writeTable answers a LoadTableResult with its ETag; snapshots is
// snapshotsAll or snapshotsRefs.
func (h *Handler) writeTable(w http.ResponseWriter, r *http.Request, t *service.TableFile, snapshots string) error {
	d, err := h.storage.delegate(r, t.ID, t.Metadata.TableLocation)
	if err != nil {
		return err
	}
	return h.writeTableWith(w, r, t, snapshots, d)
}

func (h *Handler) writeTableWith(w http.ResponseWriter, r *http.Request, t *service.TableFile, snapshots string, d delegation) error {
	cfg := h.tableCfg.json(d.config)
	md := json.RawMessage(t.Metadata.Raw)
	if snapshots == snapshotsRefs {
		var err error
		if md, err = refsOnly(t.Metadata.Raw); err != nil {
			return fmt.Errorf("table %s: %w", t.ID, err)
		}
	}
	setETag(w, tableETag(t, snapshots, wantsVendedCredentials(r), h.tableCfg.tag+d.tag))
	writeTableResult(w, &h.bufs, http.StatusOK, t.Location, md, cfg, d.creds)
	return nil
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

func (h *Handler) createTable(w http.ResponseWriter, r *http.Request, in *input) error {
	ns, err := namespaceParam(r)
	if err != nil {
		return err
	}
	var req createTableRequest
	if err := in.decode(&req); err != nil {
		return err
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
		return err
	}
	return h.writeTable(w, r, t.File(), snapshotsAll)
}

func (h *Handler) loadTable(w http.ResponseWriter, r *http.Request, _ *input) error {
	id, err := tableParam(r)
	if err != nil {
		return err
	}
	mode := r.URL.Query().Get("snapshots")
	switch mode {
	case "":
		mode = snapshotsAll // the spec's default; same body, so same ETag
	case snapshotsAll, snapshotsRefs:
	default:
		return ice.Errorf(ice.EINVALID, "snapshots must be all or refs, got %q", mode)
	}
	inm := r.Header.Get("If-None-Match")
	if inm != "" && !h.storage.vendsDynamically(r) {
		// Only the pointer decides the ETag: a client with a current copy
		// is answered without reading the metadata file.
		loc, err := h.svc.TableLocation(r.Context(), id)
		if err != nil {
			return err
		}
		if etag := tableETag(&service.TableFile{ID: id, Location: loc}, mode, wantsVendedCredentials(r), h.tableCfg.tag+h.storage.signingTag(r)); noneMatch(inm, etag) {
			setETag(w, etag)
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		// The pointer just read is current: answer from it rather than
		// read it from etcd a second time.
		t, err := h.svc.TableRawAt(r.Context(), id, loc)
		if err != nil {
			return err
		}
		return h.writeTable(w, r, t, mode)
	}
	t, err := h.svc.LoadTableRaw(r.Context(), id)
	if err != nil {
		return err
	}
	d, err := h.storage.delegate(r, id, t.Metadata.TableLocation)
	if err != nil {
		return err
	}
	if inm != "" && h.storage.vendsDynamically(r) {
		// Temporary keys are part of the body: the client's copy is
		// current only if it holds the keys the cache holds now.
		if etag := tableETag(t, mode, true, h.tableCfg.tag+d.tag); noneMatch(inm, etag) {
			setETag(w, etag)
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
	}
	return h.writeTableWith(w, r, t, mode, d)
}

func (h *Handler) commitTable(w http.ResponseWriter, r *http.Request, in *input) error {
	id, req, err := decodeCommit[table.Requirements, table.Updates](r, in, tables)
	if err != nil {
		return err
	}
	t, settled, err := h.svc.CommitTable(r.Context(), service.TableChange{ID: id, Requirements: req.Requirements, Updates: req.Updates, RepairManifests: isClickHouse(r)}, in.claim)
	in.settled = settled
	if err != nil {
		return err
	}
	h.writeCommit(w, r, t)
	return nil
}

// writeCommit answers a committed table: a LoadTableResult without config.
func (h *Handler) writeCommit(w http.ResponseWriter, r *http.Request, t *service.Table) {
	// The ETag is the one a loadTable with the same headers would give for
	// this metadata, so a client can send it back in If-None-Match.
	setETag(w, tableETag(t.File(), snapshotsAll, wantsVendedCredentials(r), h.tableCfg.tag+h.storage.signingTag(r)))
	writeTableResult(w, &h.bufs, http.StatusOK, t.Location, t.Metadata.Raw, nil, nil)
}

func (h *Handler) dropTable(w http.ResponseWriter, r *http.Request, _ *input) error {
	id, err := tableParam(r)
	if err != nil {
		return err
	}
	purge := false
	if s := r.URL.Query().Get("purgeRequested"); s != "" {
		if purge, err = strconv.ParseBool(s); err != nil {
			return ice.Errorf(ice.EINVALID, "purgeRequested must be true or false, got %q", s)
		}
	}
	if err := h.svc.DropTable(r.Context(), id, purge); err != nil {
		return err
	}
	if isClickHouse(r) {
		// ClickHouse 26.7 sends a DELETE again when it gets 204 (its HTTP
		// read buffer takes the empty answer as a broken one and retries),
		// then reports the second answer, 404, as a failed DROP TABLE. A 200
		// with an empty body ends its request (docs/clients.md).
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) registerTable(w http.ResponseWriter, r *http.Request, in *input) error {
	id, req, err := decodeRegister(r, in)
	if err != nil {
		return err
	}
	t, err := h.svc.RegisterTable(r.Context(), id, req.MetadataLocation, req.Overwrite)
	if err != nil {
		return err
	}
	return h.writeTable(w, r, t.File(), snapshotsAll)
}

// unregisterTableResult is the spec's UnregisterTableResult.
type unregisterTableResult struct {
	MetadataLocation string          `json:"metadata-location"`
	Metadata         json.RawMessage `json:"metadata"`
}

// unregisterTable removes the table from the catalog and leaves every file
// in place, so the table can be registered elsewhere from the answer.
func (h *Handler) unregisterTable(w http.ResponseWriter, r *http.Request, _ *input) error {
	id, err := tableParam(r)
	if err != nil {
		return err
	}
	t, err := h.svc.UnregisterTable(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, unregisterTableResult{MetadataLocation: t.Location, Metadata: t.Metadata.Raw})
	return nil
}

// reportMetrics accepts a client's scan or commit report. The catalog keeps
// no report; it checks the table exists so a typo is not silently dropped.
func (h *Handler) reportMetrics(w http.ResponseWriter, r *http.Request, in *input) error {
	id, err := tableParam(r)
	if err != nil {
		return err
	}
	var report map[string]any
	if err := in.decode(&report); err != nil {
		return err
	}
	ok, err := h.svc.TableExists(r.Context(), id)
	if err != nil {
		return err
	}
	if !ok {
		return ice.NoSuchTable(id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type commitTransactionRequest struct {
	TableChanges []commitRequest[table.Requirements, table.Updates] `json:"table-changes"`
}

func (h *Handler) commitTransaction(w http.ResponseWriter, r *http.Request, in *input) error {
	var req commitTransactionRequest
	if err := in.decode(&req); err != nil {
		return err
	}
	changes := make([]service.TableChange, len(req.TableChanges))
	for i, c := range req.TableChanges {
		if c.Identifier == nil {
			return ice.Errorf(ice.EINVALID, "table-changes[%d] has no identifier", i)
		}
		changes[i] = service.TableChange{ID: c.Identifier.ident(), Requirements: c.Requirements, Updates: c.Updates, RepairManifests: isClickHouse(r)}
	}
	settled, err := h.svc.CommitTransaction(r.Context(), changes, in.claim)
	in.settled = settled
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
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
