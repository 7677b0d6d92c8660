package service

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	ice "github.com/ice-rest-catalog/ice"
)

// Asynchronous plans: a plan that outlasts AsyncAfter keeps running on the
// replica that started it, and its state lives in the PlanStore, so that
// any replica answers a poll or a cancel.

// finish records an asynchronous plan's outcome for whichever replica is
// polled next. Its file scan tasks are handed out as plan tasks only, so the
// record stays small.
func (p *Planner) finish(ctx context.Context, rec ice.PlanRecord, loc string, spec scanSpec, ps *plannedScan, err error) {
	if err == nil {
		rec.PlanTasks, err = p.planTasks(ctx, rec.Table, loc, spec, len(ps.files))
	}
	rec.Status = ice.PlanCompleted
	if err != nil {
		rec.Status, rec.Error = ice.PlanFailed, clientError(err)
		p.log.WarnContext(ctx, "scan planning failed", "table", rec.Table.String(), "plan", rec.ID, "err", err)
	}
	// A fresh context: the plan may have run until planCtx's deadline.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := p.plans.FinishPlan(wctx, rec); err != nil && ice.ErrorCode(err) != ice.ECONFLICT {
		p.log.WarnContext(wctx, "cannot record scan plan outcome", "plan", rec.ID, "err", err)
	}
}

// clientError is what a failed plan tells its client: the error's own
// message for domain errors, a generic one for internal failures.
func clientError(err error) *ice.Error {
	var e *ice.Error
	if errors.As(err, &e) {
		return &ice.Error{Code: e.Code, Type: e.Type, Message: e.Message}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ice.Unavailable("scan planning did not finish in time", err)
	}
	return ice.Internal("scan planning failed; see the catalog's log", err)
}

// FetchPlan answers fetchPlanningResult from the shared record.
func (p *Planner) FetchPlan(ctx context.Context, id ice.TableIdent, planID string) (*PlanOutcome, error) {
	rec, err := p.loadPlan(ctx, id, planID)
	if err != nil {
		return nil, err
	}
	out := &PlanOutcome{Status: rec.Status, PlanID: planID, Tasks: ScanTasks{PlanTasks: rec.PlanTasks}, Error: rec.Error}
	if rec.Status == ice.PlanSubmitted && time.Now().After(rec.Deadline) {
		out.Status, out.Error = ice.PlanFailed, ice.Errorf(ice.EUNAVAILABLE,
			"scan planning did not finish by %s; the replica planning it may have stopped; plan again", rec.Deadline.Format(time.RFC3339))
	}
	if out.Status == ice.PlanFailed && out.Error == nil {
		out.Error = ice.Errorf(ice.EINTERNAL, "scan planning failed")
	}
	return out, nil
}

// CancelPlan answers cancelPlanning: the record is marked cancelled, and the
// replica planning it stops when it sees that.
func (p *Planner) CancelPlan(ctx context.Context, id ice.TableIdent, planID string) error {
	if strings.HasPrefix(planID, inlinePlanPrefix) {
		_, err := p.svc.TableLocation(ctx, id)
		return err
	}
	if _, err := p.loadPlan(ctx, id, planID); err != nil {
		return err
	}
	return p.plans.CancelPlan(ctx, planID)
}

func (p *Planner) loadPlan(ctx context.Context, id ice.TableIdent, planID string) (ice.PlanRecord, error) {
	if _, err := p.svc.TableLocation(ctx, id); err != nil {
		return ice.PlanRecord{}, err
	}
	if _, err := uuid.Parse(planID); err != nil {
		return ice.PlanRecord{}, ice.NoSuchPlan(planID)
	}
	rec, err := p.plans.LoadPlan(ctx, planID)
	if err != nil {
		return ice.PlanRecord{}, err
	}
	if rec.Table.String() != id.String() {
		return ice.PlanRecord{}, ice.NoSuchPlan(planID)
	}
	return rec, nil
}
