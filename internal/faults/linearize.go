package faults

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// The model: each table is a register holding the head of its main branch,
// a snapshot id (0 before the first snapshot). Snapshot ids are unique and
// every added snapshot names the head it was built on, so the head stands
// for the whole snapshot chain. A commit is an append with expected-base
// semantics, a compare-and-set of the head; a load reads it.

type lin struct {
	kind      Kind
	base, new int64
}

type linOut struct {
	outcome Outcome
	head    int64
}

// step lists the heads the table may have after op, from head. An empty
// list means the answer the client got is impossible from this state.
func step(state, in, out any) []any {
	head, i, o := state.(int64), in.(lin), out.(linOut)
	if i.kind == Load {
		if o.head == head {
			return []any{head}
		}
		return nil
	}
	switch o.outcome {
	case Acked:
		if head == i.base {
			return []any{i.new}
		}
		return nil
	case Conflict:
		// The server validates the expected base against a fresh read: a
		// 409 means the head had moved on.
		if head != i.base {
			return []any{head}
		}
		return nil
	case NotApplied:
		return []any{head}
	default: // Unknown: either way, if the base still held.
		if head == i.base {
			return []any{head, i.new}
		}
		return []any{head}
	}
}

var model = (&porcupine.NondeterministicModel{
	Init: func() []any { return []any{int64(0)} },
	Step: step,
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byTable := map[string][]porcupine.Operation{}
		var names []string
		for _, op := range h {
			t := op.Metadata.(string)
			if _, ok := byTable[t]; !ok {
				names = append(names, t)
			}
			byTable[t] = append(byTable[t], op)
		}
		sort.Strings(names)
		out := make([][]porcupine.Operation, len(names))
		for i, n := range names {
			out[i] = byTable[n]
		}
		return out
	},
	DescribeOperation: func(in, out any) string {
		i, o := in.(lin), out.(linOut)
		if i.kind == Load {
			return fmt.Sprintf("load -> %d", o.head)
		}
		return fmt.Sprintf("append %d on %d -> %s", i.new, i.base, o.outcome)
	},
	DescribeState: func(s any) string { return fmt.Sprint(s) },
}).ToModel()

// Linearizable checks that the history of each table is linearizable in
// the model above. Failed loads observed nothing and are left out. A
// commit with an unknown outcome may take effect at any point until the
// last call in the history (by then the suite has seen the catalog commit
// again, so an etcd proposal still in flight has been decided); its return
// is moved there.
func Linearizable(ops []Op, timeout time.Duration) (porcupine.CheckResult, string) {
	var maxCall time.Duration
	for _, op := range ops {
		maxCall = max(maxCall, op.Call)
	}
	var hist []porcupine.Operation
	for id, op := range ops {
		if op.Kind == Load && op.Outcome != Acked {
			continue
		}
		if op.Kind == Commit && op.New == 0 {
			continue // not an append: nothing the model tracks
		}
		ret := op.Return
		if op.Kind == Commit && op.Outcome == Unknown {
			ret = max(ret, maxCall-1)
		}
		hist = append(hist, porcupine.Operation{
			ClientId: id, Input: lin{op.Kind, op.Base, op.New}, Output: linOut{op.Outcome, op.Head},
			Call: int64(op.Call), Return: int64(ret), Metadata: op.Table,
		})
	}
	res, info := porcupine.CheckOperationsVerbose(model, hist, timeout)
	if res != porcupine.Illegal {
		return res, ""
	}
	// Show the longest prefix that could be linearized: the operation after
	// it is where the history breaks.
	var b strings.Builder
	for _, part := range info.PartialLinearizationsOperations() {
		longest := []porcupine.Operation{}
		for _, l := range part {
			if len(l) > len(longest) {
				longest = l
			}
		}
		if len(longest) == 0 {
			b.WriteString("a table's history cannot even start: its first operation contradicts the empty table\n")
			continue
		}
		fmt.Fprintf(&b, "table %v: longest linearizable prefix has %d ops, ending:\n", longest[0].Metadata, len(longest))
		for _, op := range longest[max(0, len(longest)-5):] {
			fmt.Fprintf(&b, "  %s\n", model.DescribeOperation(op.Input, op.Output))
		}
	}
	return res, b.String()
}
