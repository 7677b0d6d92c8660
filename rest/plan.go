package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/apache/iceberg-go/table"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/service"
)

// Server-side scan planning: planTableScan, fetchPlanningResult,
// cancelPlanning and fetchScanTasks. They are routed, and advertised in
// /v1/config, only when the handler has a planner.

const planPath = tablePath + "/plan"

func (h *Handler) planRoutes() []route {
	if h.planner == nil {
		return nil
	}
	const spec = "/v1/{prefix}/namespaces/{namespace}/tables/{table}"
	return []route{
		{"POST " + planPath, h.planTableScan, "POST " + spec + "/plan"},
		{"GET " + planPath + "/{planID}", h.fetchPlanningResult, "GET " + spec + "/plan/{plan-id}"},
		{"DELETE " + planPath + "/{planID}", h.cancelPlanning, "DELETE " + spec + "/plan/{plan-id}"},
		{"POST " + tablePath + "/tasks", h.fetchScanTasks, "POST " + spec + "/tasks"},
	}
}

// planResult is the spec's PlanTableScanResult and FetchPlanningResult:
// one shape, told apart by status.
type planResult struct {
	Status string `json:"status"`
	PlanID string `json:"plan-id,omitempty"`
	scanTasksJSON
	StorageCredentials []storageCredential `json:"storage-credentials,omitempty"`
	Error              *errorBody          `json:"error,omitempty"`
}

func (h *Handler) planTableScan(w http.ResponseWriter, r *http.Request) {
	id, err := tableParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var req service.ScanRequest
	if err := decodeOptional(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	out, err := h.planner.Plan(r.Context(), id, req)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writePlan(w, r, out, true)
}

func (h *Handler) fetchPlanningResult(w http.ResponseWriter, r *http.Request) {
	id, err := tableParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out, err := h.planner.FetchPlan(r.Context(), id, r.PathValue("planID"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writePlan(w, r, out, false)
}

func (h *Handler) writePlan(w http.ResponseWriter, r *http.Request, out *service.PlanOutcome, withID bool) {
	res := planResult{Status: out.Status}
	if withID {
		res.PlanID = out.PlanID
	}
	if out.Status == ice.PlanFailed {
		// The spec's FailedPlanningResult: the plan's error, with status 200.
		status, typ := statusOf(out.Error.Code)
		if out.Error.Type != "" {
			typ = out.Error.Type
		}
		res.Error = &errorBody{Message: out.Error.Message, Type: typ, Code: status}
	}
	if out.Status == ice.PlanCompleted {
		tasks, err := encodeScanTasks(out.Tasks)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		res.scanTasksJSON = tasks
		if res.StorageCredentials, err = h.planCredentials(r, out.Tasks.Metadata); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, res)
}

// planCredentials vends, with a completed plan, what loadTable vends, when
// the client asks for vended credentials: the spec's data-access header is
// defined on the planning endpoints too.
func (h *Handler) planCredentials(r *http.Request, md table.Metadata) ([]storageCredential, error) {
	if !wantsVendedCredentials(r) {
		return nil, nil
	}
	id, err := tableParam(r)
	if err != nil {
		return nil, err
	}
	if md == nil { // an async plan's record holds no metadata
		t, err := h.svc.LoadTable(r.Context(), id)
		if err != nil {
			return nil, err
		}
		md = t.Metadata.Parsed
	}
	creds, _, err := h.vend(r, id.Namespace, md.Location())
	return creds, err
}

func (h *Handler) cancelPlanning(w http.ResponseWriter, r *http.Request) {
	id, err := tableParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.planner.CancelPlan(r.Context(), id, r.PathValue("planID")); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type fetchScanTasksRequest struct {
	PlanTask *string `json:"plan-task"`
}

func (h *Handler) fetchScanTasks(w http.ResponseWriter, r *http.Request) {
	id, err := tableParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var req fetchScanTasksRequest
	if err := decode(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.PlanTask == nil {
		h.writeError(w, r, ice.Errorf(ice.EINVALID, "plan-task is required"))
		return
	}
	st, err := h.planner.FetchTasks(r.Context(), id, *req.PlanTask)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out, err := encodeScanTasks(st)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// decodeOptional is decode for a body the spec does not require: an empty
// one is the zero request.
func decodeOptional(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return ice.Errorf(ice.ETOOLARGE, "request body is larger than the limit of %d bytes", tooLarge.Limit)
		}
		return ice.Errorf(ice.EINVALID, "cannot read request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return ice.Errorf(ice.EINVALID, "malformed request body: %v", err)
	}
	return nil
}
