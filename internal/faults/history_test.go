package faults

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// at builds an op on table "db.t" over the interval [call, ret] (in ms).
func at(call, ret int, op Op) Op {
	op.Table = "db.t"
	op.Call, op.Return = time.Duration(call)*time.Millisecond, time.Duration(ret)*time.Millisecond
	return op
}

func appendOp(base, added int64, o Outcome) Op {
	return Op{Kind: Commit, Base: base, New: added, Outcome: o, Marker: "m" + string(rune('a'+added))}
}

func load(head int64) Op { return Op{Kind: Load, Head: head, Outcome: Acked} }

func TestLinearizable(t *testing.T) {
	cases := []struct {
		name string
		ops  []Op
		want porcupine.CheckResult
	}{
		{"sequential appends and loads", []Op{
			at(0, 1, appendOp(0, 1, Acked)), at(2, 3, load(1)),
			at(4, 5, appendOp(1, 2, Acked)), at(6, 7, load(2)),
		}, porcupine.Ok},
		{"concurrent appends on one base: one wins, one conflicts", []Op{
			at(0, 10, appendOp(0, 1, Acked)), at(0, 10, appendOp(0, 2, Conflict)), at(11, 12, load(1)),
		}, porcupine.Ok},
		{"unknown outcome that applied", []Op{
			at(0, 1, appendOp(0, 1, Unknown)), at(5, 6, load(1)),
		}, porcupine.Ok},
		{"unknown outcome that did not apply", []Op{
			at(0, 1, appendOp(0, 1, Unknown)), at(5, 6, load(0)), at(7, 8, appendOp(0, 2, Acked)), at(9, 10, load(2)),
		}, porcupine.Ok},
		{"lost update: two acknowledged appends on one base", []Op{
			at(0, 10, appendOp(0, 1, Acked)), at(0, 10, appendOp(0, 2, Acked)), at(11, 12, load(2)),
		}, porcupine.Illegal},
		{"stale load after an acknowledged append", []Op{
			at(0, 1, appendOp(0, 1, Acked)), at(2, 3, load(0)),
		}, porcupine.Illegal},
		{"a 409 that applied after all", []Op{
			at(0, 1, appendOp(0, 1, Conflict)), at(2, 3, load(1)),
		}, porcupine.Illegal},
		{"a 503 that applied after all", []Op{
			at(0, 1, appendOp(0, 1, NotApplied)), at(2, 3, load(1)),
		}, porcupine.Illegal},
		{"a 409 while the base was still the head", []Op{
			at(0, 1, appendOp(0, 1, Conflict)), at(2, 3, load(0)),
		}, porcupine.Illegal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, why := Linearizable(c.ops, 10*time.Second)
			if got != c.want {
				t.Fatalf("got %v, want %v\n%s", got, c.want, why)
			}
			if got == porcupine.Illegal && why == "" {
				t.Error("an illegal history came without an explanation")
			}
		})
	}
}

func TestVerify(t *testing.T) {
	ops := []Op{
		at(0, 1, appendOp(0, 1, Acked)),
		at(0, 1, appendOp(0, 2, Acked)),    // lost: not in the chain
		at(0, 1, appendOp(0, 3, Conflict)), // phantom: in the chain
		at(0, 1, appendOp(0, 4, Unknown)),  // present
		at(0, 1, appendOp(0, 5, Unknown)),  // absent
	}
	chain := []Snapshot{{ID: 1, Marker: "mb"}, {ID: 3, Marker: "md"}, {ID: 4, Marker: "me"}, {ID: 9, Marker: "me"}, {ID: 10, Marker: "zz"}}
	r := Verify(ops, map[string][]Snapshot{"db.t": chain})
	if len(r.Lost) != 1 || !strings.Contains(r.Lost[0], "mc") {
		t.Errorf("lost = %v, want mc", r.Lost)
	}
	if len(r.Phantom) != 1 || !strings.Contains(r.Phantom[0], "md") {
		t.Errorf("phantom = %v, want md", r.Phantom)
	}
	if len(r.Duplicated) != 1 || !strings.Contains(r.Duplicated[0], "me") {
		t.Errorf("duplicated = %v, want me", r.Duplicated)
	}
	if len(r.Unrecorded) != 1 || !strings.Contains(r.Unrecorded[0], "zz") {
		t.Errorf("unrecorded = %v, want zz", r.Unrecorded)
	}
	if r.UnknownPresent != 1 || r.UnknownAbsent != 1 || r.OK() {
		t.Errorf("report %v", r)
	}
	if ok := Verify(ops[:1], map[string][]Snapshot{"db.t": chain[:1]}); !ok.OK() {
		t.Errorf("a clean history reported %v", ok)
	}
}

func TestChain(t *testing.T) {
	snaps := map[int64]Snapshot{1: {ID: 1}, 2: {ID: 2, Parent: 1}, 3: {ID: 3, Parent: 2}, 7: {ID: 7, Parent: 1}}
	c, err := Chain(3, snaps)
	if err != nil || len(c) != 3 || c[0].ID != 3 || c[2].ID != 1 {
		t.Fatalf("chain = %v, %v", c, err)
	}
	snaps[1] = Snapshot{ID: 1, Parent: 3}
	if _, err := Chain(3, snaps); err == nil {
		t.Fatal("a cycle was not reported")
	}
}

// TestRecorder checks what the recorder reads off the wire: the table, the
// expected base and added snapshot of a commit, the head a load saw, and
// the error type of an error answer.
func TestRecorder(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"error":{"message":"no","type":"CommitFailedException","code":409}}`)
			return
		}
		io.WriteString(w, `{"metadata-location":"x","metadata":{"current-snapshot-id":42}}`)
	}))
	defer srv.Close()
	h := NewHistory()
	cl := &http.Client{Transport: &Recorder{Next: http.DefaultTransport, History: h}}
	resp, err := cl.Get(srv.URL + "/v1/namespaces/a%1Fb/tables/t")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body) // the client still gets the whole answer
	resp.Body.Close()
	if !strings.Contains(string(body), "42") {
		t.Fatalf("client saw %q", body)
	}
	commit := `{"requirements":[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":42}],
		"updates":[{"action":"add-snapshot","snapshot":{"snapshot-id":43,"summary":{"operation":"append","faults.marker":"w1-1"}}}]}`
	resp, err = cl.Post(srv.URL+"/v1/namespaces/a%1Fb/tables/t", "application/json", strings.NewReader(commit))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := cl.Get(srv.URL + "/v1/namespaces/a/tables"); err != nil { // a listing: counted only
		t.Fatal(err)
	}

	ops := h.Ops()
	if len(ops) != 3 || ops[2].Kind != Other {
		t.Fatalf("recorded %+v, want a load, a commit and another request", ops)
	}
	if l := ops[0]; l.Table != "a.b.t" || l.Kind != Load || l.Head != 42 || l.Outcome != Acked {
		t.Errorf("load recorded as %+v", l)
	}
	if c := ops[1]; c.Kind != Commit || c.Base != 42 || c.New != 43 || c.Marker != "w1-1" ||
		c.Outcome != Conflict || c.ErrType != "CommitFailedException" {
		t.Errorf("commit recorded as %+v", c)
	}
}
