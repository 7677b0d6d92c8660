package faults

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// Kind is what an operation did.
type Kind int

const (
	Load   Kind = iota // GET a table: observes the head snapshot
	Commit             // POST a table: append one snapshot on an expected base
	Other              // any other request (listings, config): only its status counts
)

// Outcome is what a client may conclude from a commit's answer.
type Outcome int

const (
	// Acked: a 2xx. The commit is in the history, exactly once.
	Acked Outcome = iota
	// Conflict: a 409. The base was no longer the head; nothing applied.
	Conflict
	// NotApplied: any other answer that promises nothing changed: other
	// 4xx, and 503 (the store or storage could not be reached before the
	// pointer swap).
	NotApplied
	// Unknown: a 500 CommitStateUnknown, any other 5xx, a timeout or a lost
	// connection. The commit may have applied, now or later.
	Unknown
)

func (o Outcome) String() string {
	return [...]string{"acked", "conflict", "not-applied", "unknown"}[o]
}

// Op is one recorded request and its answer.
type Op struct {
	Table   string // "ns.table"
	Kind    Kind
	Replica string // base URL the request went to
	// Commit input: the snapshot the client expects to be the head, the
	// snapshot it adds, and the marker in that snapshot's summary.
	Base, New int64
	Marker    string
	// Head is what a successful load observed (0: no snapshot yet).
	Head    int64
	Outcome Outcome
	Status  int    // HTTP status, 0 when no answer came
	ErrType string // error.type of an error answer
	Err     string // transport error, if any
	Call    time.Duration
	Return  time.Duration
}

// History collects the operations of a run; it is safe for concurrent use.
type History struct {
	start time.Time

	mu  sync.Mutex
	ops []Op
}

// NewHistory starts the clock that call and return times count from.
func NewHistory() *History { return &History{start: time.Now()} }

// Now is the time since the history started.
func (h *History) Now() time.Duration { return time.Since(h.start) }

// Add records a finished operation.
func (h *History) Add(op Op) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// Ops returns a copy of the operations, ordered by call time.
func (h *History) Ops() []Op {
	h.mu.Lock()
	out := append([]Op(nil), h.ops...)
	h.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Call < out[j].Call })
	return out
}

// Counts summarises the commits of a history.
type Counts struct {
	Commits, Acked, Conflicts, NotApplied, Unknown int
	Loads, Others                                  int
	// Status5xx counts 5xx answers by error type, for the "zero 5xx other
	// than injected" check.
	Status5xx map[string]int
}

// Count tallies ops.
func Count(ops []Op) Counts {
	c := Counts{Status5xx: map[string]int{}}
	for _, op := range ops {
		if op.Status >= 500 {
			c.Status5xx[fmt.Sprintf("%d %s", op.Status, op.ErrType)]++
		}
		switch op.Kind {
		case Load:
			c.Loads++
			continue
		case Other:
			c.Others++
			continue
		}
		c.Commits++
		switch op.Outcome {
		case Acked:
			c.Acked++
		case Conflict:
			c.Conflicts++
		case NotApplied:
			c.NotApplied++
		case Unknown:
			c.Unknown++
		}
	}
	return c
}
