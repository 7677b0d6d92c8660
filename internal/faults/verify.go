package faults

import (
	"fmt"
	"sort"
)

// Snapshot is one snapshot of a table's final main branch.
type Snapshot struct {
	ID, Parent int64
	Marker     string
}

// Report is what Verify found, in the terms of docs/reliability.md.
type Report struct {
	Counts
	Lost           []string // acknowledged, not in the final history
	Duplicated     []string // in the final history more than once
	Phantom        []string // answered 409/4xx/503, yet in the final history
	Unrecorded     []string // in the final history, never sent by a client
	UnknownPresent int      // outcome unknown, found in the history
	UnknownAbsent  int      // outcome unknown, not in the history
}

// OK reports whether nothing was lost, duplicated or invented.
func (r Report) OK() bool {
	return len(r.Lost)+len(r.Duplicated)+len(r.Phantom)+len(r.Unrecorded) == 0
}

func (r Report) String() string {
	return fmt.Sprintf("commits=%d acked=%d conflicts=%d not-applied=%d unknown=%d (present %d, absent %d) loads=%d lost=%d duplicated=%d phantom=%d unrecorded=%d 5xx=%v",
		r.Commits, r.Acked, r.Conflicts, r.NotApplied, r.Unknown, r.UnknownPresent, r.UnknownAbsent, r.Loads,
		len(r.Lost), len(r.Duplicated), len(r.Phantom), len(r.Unrecorded), r.Status5xx)
}

// Verify holds the final main-branch chain of each table against the
// answers clients got: every acknowledged commit's marker is in its table's
// chain exactly once; a commit answered with a promise that nothing changed
// is absent; a commit whose outcome is unknown is there once or not at all
// (a duplicate would show in Duplicated); and nothing is there that no
// client sent.
func Verify(ops []Op, chains map[string][]Snapshot) Report {
	r := Report{Counts: Count(ops)}
	inChain := map[string]int{} // table + marker -> occurrences
	for table, chain := range chains {
		for _, s := range chain {
			inChain[table+"\x00"+s.Marker]++
		}
	}
	sent := map[string]bool{}
	for _, op := range ops {
		if op.Kind != Commit || op.Marker == "" {
			continue
		}
		key := op.Table + "\x00" + op.Marker
		sent[key] = true
		n := inChain[key]
		switch op.Outcome {
		case Acked:
			if n == 0 {
				r.Lost = append(r.Lost, op.Table+" "+op.Marker)
			}
		case Conflict, NotApplied:
			if n > 0 {
				r.Phantom = append(r.Phantom, fmt.Sprintf("%s %s (HTTP %d %s)", op.Table, op.Marker, op.Status, op.ErrType))
			}
		case Unknown:
			if n > 0 {
				r.UnknownPresent++
			} else {
				r.UnknownAbsent++
			}
		}
	}
	for key, n := range inChain {
		if n > 1 {
			r.Duplicated = append(r.Duplicated, fmt.Sprintf("%q x%d", key, n))
		}
		if !sent[key] {
			r.Unrecorded = append(r.Unrecorded, fmt.Sprintf("%q", key))
		}
	}
	sort.Strings(r.Duplicated)
	sort.Strings(r.Unrecorded)
	return r
}

// Chain walks from head through parent ids and returns the main branch,
// newest first. A parent missing from snapshots ends the walk (expired
// history); a cycle is reported as an error.
func Chain(head int64, snapshots map[int64]Snapshot) ([]Snapshot, error) {
	var out []Snapshot
	seen := map[int64]bool{}
	for id := head; id != 0; {
		s, ok := snapshots[id]
		if !ok {
			break
		}
		if seen[id] {
			return nil, fmt.Errorf("snapshot %d appears twice on the parent chain", id)
		}
		seen[id] = true
		out = append(out, s)
		id = s.Parent
	}
	return out, nil
}
