package ice

import (
	"context"
	"time"
)

// Plan statuses, as the REST spec names them.
const (
	PlanSubmitted = "submitted"
	PlanCompleted = "completed"
	PlanFailed    = "failed"
	PlanCancelled = "cancelled"
)

// PlanRecord is the shared state of an asynchronous scan plan, kept in the
// store so that any replica can answer a poll or a cancel. It never holds
// file scan tasks, only the signed plan-task tokens that produce them, so it
// stays small however large the plan.
type PlanRecord struct {
	ID     string
	Table  TableIdent
	Status string
	// Deadline is when a submitted plan must have finished; past it, the
	// replica that was planning is presumed gone and the plan has failed.
	Deadline  time.Time
	PlanTasks []string
	// Error is the failure of a failed plan.
	Error *Error
	// Revision is the store's version of the record when read.
	Revision int64
}

// PlanStore keeps asynchronous plans and the key that signs plan tasks.
// Errors are *Error values, as for Store.
type PlanStore interface {
	// CreatePlan stores a new submitted plan that expires after ttl and
	// returns its revision.
	CreatePlan(ctx context.Context, rec PlanRecord, ttl time.Duration) (int64, error)
	// LoadPlan returns the plan, or NoSuchPlan.
	LoadPlan(ctx context.Context, id string) (PlanRecord, error)
	// FinishPlan replaces a submitted plan with its outcome if the record is
	// still at rec.Revision; ECONFLICT means it was cancelled or expired.
	FinishPlan(ctx context.Context, rec PlanRecord) error
	// CancelPlan marks the plan cancelled, or answers NoSuchPlan.
	CancelPlan(ctx context.Context, id string) error
	// PlanChanged is closed when the record changes after revision (a
	// cancel, an expiry), or when ctx ends.
	PlanChanged(ctx context.Context, id string, revision int64) <-chan struct{}
	// PlanSigningKey returns the key that signs plan tasks, created once
	// for all replicas.
	PlanSigningKey(ctx context.Context) ([]byte, error)
}

// NoSuchPlan reports an unknown or expired plan-id.
func NoSuchPlan(id string) *Error {
	return newError(ENOTFOUND, typeNoSuchPlanID, "plan does not exist or has expired: %s", id)
}

// NoSuchPlanTask reports a plan task that is not one of ours, was issued for
// another table, or has expired.
func NoSuchPlanTask(why string) *Error {
	return newError(ENOTFOUND, typeNoSuchPlanTask, "plan task does not exist: %s", why)
}
