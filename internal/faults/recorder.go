package faults

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Recorder is an http.RoundTripper for iceberg-go's REST client
// (rest.WithCustomTransport) that records each table load and commit into a
// History. It reads what it needs from the wire, the request the client
// sent and the answer it got, so the history is what a client observed,
// whatever the client library does in between.
type Recorder struct {
	Next    http.RoundTripper
	History *History
}

// tablePath matches /v1/namespaces/{ns}/tables/{table} and nothing deeper.
func tableOf(u *url.URL) (string, bool) {
	rest, ok := strings.CutPrefix(u.EscapedPath(), "/v1/namespaces/")
	if !ok {
		return "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[1] != "tables" {
		return "", false
	}
	ns, err1 := url.PathUnescape(parts[0])
	name, err2 := url.PathUnescape(parts[2])
	if err1 != nil || err2 != nil {
		return "", false
	}
	return strings.ReplaceAll(ns, "\x1f", ".") + "." + name, true
}

func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	op := Op{Kind: Other, Replica: req.URL.Scheme + "://" + req.URL.Host}
	if table, ok := tableOf(req.URL); ok && (req.Method == http.MethodGet || req.Method == http.MethodPost) {
		op.Table, op.Kind = table, Load
	}
	if op.Kind == Load && req.Method == http.MethodPost {
		op.Kind = Commit
		body, err := readBody(&req.Body)
		if err != nil {
			return nil, err
		}
		op.Base, op.New, op.Marker = parseCommit(body)
	}
	op.Call = r.History.Now()
	resp, err := r.Next.RoundTrip(req)
	if err != nil {
		op.Return = r.History.Now()
		op.Err = err.Error()
		op.Outcome = Unknown
		r.History.Add(op)
		return nil, err
	}
	body, rerr := readBody(&resp.Body)
	op.Return = r.History.Now()
	op.Status = resp.StatusCode
	op.Outcome = classify(resp.StatusCode)
	switch {
	case rerr != nil: // the answer was cut off: as if none came
		op.Err, op.Outcome = rerr.Error(), Unknown
	case resp.StatusCode/100 == 2 && op.Kind != Other:
		var ok bool
		if op.Head, ok = currentSnapshot(body); !ok && op.Kind == Load {
			// A load whose answer cannot be read observed nothing usable.
			op.Outcome, op.Err = NotApplied, "unreadable loadTable answer"
		}
	case resp.StatusCode/100 != 2:
		op.ErrType = errorType(body)
	}
	r.History.Add(op)
	return resp, rerr
}

func classify(status int) Outcome {
	switch {
	case status/100 == 2:
		return Acked
	case status == http.StatusConflict:
		return Conflict
	case status/100 == 4, status == http.StatusServiceUnavailable:
		return NotApplied
	}
	return Unknown
}

// readBody reads a body fully and puts an equal one back.
func readBody(rc *io.ReadCloser) ([]byte, error) {
	if *rc == nil || *rc == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(*rc)
	(*rc).Close()
	*rc = io.NopCloser(bytes.NewReader(b))
	return b, err
}

// parseCommit finds, in a CommitTableRequest, the expected head of main
// (assert-ref-snapshot-id; null is "no snapshot yet", 0 here) and the
// snapshot that add-snapshot adds, with its marker.
func parseCommit(body []byte) (base, added int64, marker string) {
	var req struct {
		Requirements []struct {
			Type       string `json:"type"`
			Ref        string `json:"ref"`
			SnapshotID *int64 `json:"snapshot-id"`
		} `json:"requirements"`
		Updates []struct {
			Action   string `json:"action"`
			Snapshot *struct {
				SnapshotID int64             `json:"snapshot-id"`
				Summary    map[string]string `json:"summary"`
			} `json:"snapshot"`
		} `json:"updates"`
	}
	if json.Unmarshal(body, &req) != nil {
		return 0, 0, ""
	}
	for _, r := range req.Requirements {
		if r.Type == "assert-ref-snapshot-id" && r.Ref == "main" && r.SnapshotID != nil {
			base = *r.SnapshotID
		}
	}
	for _, u := range req.Updates {
		if u.Action == "add-snapshot" && u.Snapshot != nil {
			added, marker = u.Snapshot.SnapshotID, u.Snapshot.Summary[MarkerKey]
		}
	}
	return base, added, marker
}

// MarkerKey is the snapshot summary property that names each commit.
const MarkerKey = "faults.marker"

// currentSnapshot reads current-snapshot-id from a LoadTableResult or a
// CommitTableResponse; -1 and null both mean "none" (0 here).
func currentSnapshot(body []byte) (int64, bool) {
	var res struct {
		Metadata *struct {
			CurrentSnapshotID *int64 `json:"current-snapshot-id"`
		} `json:"metadata"`
	}
	if json.Unmarshal(body, &res) != nil || res.Metadata == nil {
		return 0, false
	}
	if id := res.Metadata.CurrentSnapshotID; id != nil && *id >= 0 {
		return *id, true
	}
	return 0, true
}

func errorType(body []byte) string {
	var e struct {
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Error.Type
}
