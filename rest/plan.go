package rest

import (
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
	return []route{
		{"POST " + planPath, h.planTableScan, true},
		{"GET " + planPath + "/{planID}", h.fetchPlanningResult, true},
		{"DELETE " + planPath + "/{planID}", h.cancelPlanning, true},
		{"POST " + tablePath + "/tasks", h.fetchScanTasks, true},
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

func (h *Handler) planTableScan(w http.ResponseWriter, r *http.Request, in *input) error {
	id, err := tableParam(r)
	if err != nil {
		return err
	}
	var req service.ScanRequest
	if err := in.decodeOptional(&req); err != nil {
		return err
	}
	out, err := h.planner.Plan(r.Context(), id, req)
	if err != nil {
		return err
	}
	return h.writePlan(w, r, out, true)
}

func (h *Handler) fetchPlanningResult(w http.ResponseWriter, r *http.Request, _ *input) error {
	id, err := tableParam(r)
	if err != nil {
		return err
	}
	out, err := h.planner.FetchPlan(r.Context(), id, r.PathValue("planID"))
	if err != nil {
		return err
	}
	return h.writePlan(w, r, out, false)
}

func (h *Handler) writePlan(w http.ResponseWriter, r *http.Request, out *service.PlanOutcome, withID bool) error {
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
			return err
		}
		res.scanTasksJSON = tasks
		if res.StorageCredentials, err = h.planCredentials(r, out.Tasks.Metadata); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, res)
	return nil
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
	creds, _, err := h.storage.vend(r, id.Namespace, md.Location())
	return creds, err
}

func (h *Handler) cancelPlanning(w http.ResponseWriter, r *http.Request, _ *input) error {
	id, err := tableParam(r)
	if err != nil {
		return err
	}
	if err := h.planner.CancelPlan(r.Context(), id, r.PathValue("planID")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type fetchScanTasksRequest struct {
	PlanTask *string `json:"plan-task"`
}

func (h *Handler) fetchScanTasks(w http.ResponseWriter, r *http.Request, in *input) error {
	id, err := tableParam(r)
	if err != nil {
		return err
	}
	var req fetchScanTasksRequest
	if err := in.decode(&req); err != nil {
		return err
	}
	if req.PlanTask == nil {
		return ice.Errorf(ice.EINVALID, "plan-task is required")
	}
	st, err := h.planner.FetchTasks(r.Context(), id, *req.PlanTask)
	if err != nil {
		return err
	}
	out, err := encodeScanTasks(st)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
