package rest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/auth"
)

// The Idempotency-Key header (Iceberg REST spec): a request that repeats a
// key gets the answer of the first request with that key instead of running
// again. A key is honoured on the routes that change the catalog
// (access.recorded), which covers every write the spec marks with the
// header, and only once the request is authorized: a request that may not
// run stores nothing. Each principal holds a bounded number of keys, and
// each stored answer has a bounded size.

const (
	headerIdempotencyKey = "Idempotency-Key"
	// defaultIdempotencyKeyLifetime is the spec example's PT30M.
	defaultIdempotencyKeyLifetime = 30 * time.Minute
	// pendingWait bounds how long a duplicate waits for the first request
	// with its key to finish before it is told to retry later.
	pendingWait = 10 * time.Second
	// maxRecordedBody bounds a stored answer when no limit is configured:
	// well under etcd's default 1.5 MiB request limit.
	maxRecordedBody = 512 << 10
)

// idempotency serves the Idempotency-Key header: it replays a key's
// recorded answer, or claims the key, runs the request and records its
// answer. The Handler composes it; nil turns the header off.
type idempotency struct {
	store    ice.IdempotencyStore
	lifetime time.Duration // how long an outcome is kept
	// wait bounds how long a duplicate waits for the first request.
	wait             time.Duration
	maxRecord        int // the largest answer recorded, in recordSize's bytes
	keysPerPrincipal int
	log              *slog.Logger
}

func newIdempotency(store ice.IdempotencyStore, lifetime time.Duration, limits Limits, log *slog.Logger) *idempotency {
	k := &idempotency{store: store, lifetime: lifetime, wait: pendingWait, maxRecord: limits.IdempotencyMaxRecordBytes,
		keysPerPrincipal: limits.IdempotencyKeysPerPrincipal, log: log}
	if k.lifetime <= 0 {
		k.lifetime = defaultIdempotencyKeyLifetime
	}
	if k.maxRecord <= 0 {
		k.maxRecord = maxRecordedBody
	}
	return k
}

// keyed is next for an authorized write that carries an Idempotency-Key.
func (h *Handler) keyed(who auth.Principal, next handler) handler {
	return func(w http.ResponseWriter, r *http.Request, in *input) error {
		run := func(w http.ResponseWriter, r *http.Request, claim *ice.IdempotencyClaim) (settled bool) {
			in.claim = claim
			h.answer(next, w, r, in)
			return in.settled
		}
		return h.idem.serve(w, r, who, in, run, h.replay)
	}
}

// serve replays the key's answer, or claims the key, runs the request and
// records its answer. The body, read once, is part of the fingerprint.
func (k *idempotency) serve(w http.ResponseWriter, r *http.Request, who auth.Principal, in *input,
	run claimedRun, replay func(http.ResponseWriter, *http.Request, *ice.IdempotencyRecord) error) error {
	raw := r.Header.Get(headerIdempotencyKey)
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return ice.Errorf(ice.EINVALID, "%s must be a UUID in its 36-character form, got %q", headerIdempotencyKey, raw)
	}
	key := id.String() // lower case: one record whatever the client's case
	body, err := in.bytes()
	if err != nil {
		return err
	}
	fp := fingerprint(r, body)

	deadline := time.Now().Add(k.wait)
	for attempt := 0; attempt < 8; attempt++ {
		quota := ice.IdempotencyQuota{Owner: who.Name, Max: k.keysPerPrincipal}
		claim, rec, err := k.store.ClaimIdempotencyKey(r.Context(), key, fp, k.lifetime, quota)
		switch {
		case err != nil:
			if ice.ErrorCode(err) == ice.ETOOMANY {
				w.Header().Set("Retry-After", "60") // keys expire in batches a minute apart (etcd/idempotency.go)
			}
			return err
		case claim != nil:
			k.runClaimed(w, r, claim, run)
			return nil
		case rec.Fingerprint != fp:
			return ice.Errorf(ice.EUNPROCESSABLE,
				"%s %s was already used for a different request; use a new key for a new operation", headerIdempotencyKey, key)
		case !rec.Pending:
			return replay(w, r, rec)
		}
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		ctx, cancel := context.WithTimeout(r.Context(), left)
		_ = k.store.AwaitIdempotencyKey(ctx, key, rec.Revision)
		cancel()
		if r.Context().Err() != nil {
			return nil // the client went away
		}
	}
	// The first request is still running. Its outcome is not known yet, so
	// no final answer is possible; a 503 is one every client retries.
	w.Header().Set("Retry-After", "1")
	return &ice.Error{Code: ice.EUNAVAILABLE, Type: "ServiceUnavailableException",
		Message: fmt.Sprintf("a request with %s %s is still in progress; retry later with the same key", headerIdempotencyKey, key)}
}

// claimedRun runs a request under its key's claim, and reports whether
// its commit stored the outcome under the claim (settled).
type claimedRun func(w http.ResponseWriter, r *http.Request, claim *ice.IdempotencyClaim) (settled bool)

// runClaimed runs a request whose key this replica holds, records its
// answer when that answer is final, and only then sends it: a client that
// saw an answer gets the same one on every retry.
func (k *idempotency) runClaimed(w http.ResponseWriter, r *http.Request, claim *ice.IdempotencyClaim, run claimedRun) {
	buf := &bufferedResponse{header: http.Header{}}
	settle := func(settled bool) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
		defer cancel()
		k.recordOutcome(ctx, r, claim, settled, buf)
	}
	defer func() {
		if p := recover(); p != nil {
			buf.status = http.StatusInternalServerError // never recorded
			settle(false)
			panic(p)
		}
	}()
	settle(run(buf, r, claim))
	buf.sendTo(w)
}

// recordOutcome stores a final answer, or releases the claim so that a
// retry runs the request again. A commit that settled the claim (stored
// the outcome with its swap) needs neither.
func (k *idempotency) recordOutcome(ctx context.Context, r *http.Request, claim *ice.IdempotencyClaim, settled bool, buf *bufferedResponse) {
	if settled {
		return
	}
	body, header := buf.body.Bytes(), replayHeaders(buf.header)
	if wantsVendedCredentials(r) {
		if b, ok := withoutCredentials(body); ok {
			body, header[storedVendedConfig] = b, []string{"true"}
		}
	}
	if finalStatus(buf.status) && recordSize(header, body) <= k.maxRecord && (len(body) == 0 || json.Valid(body)) {
		_, err := k.store.FinishIdempotencyKey(ctx, claim, ice.StoredResponse{Status: buf.status, Header: header, Body: body})
		if err == nil {
			return // stored, or the claim moved on: either way nothing to undo
		}
		k.log.WarnContext(ctx, "could not record an idempotent answer; a retry will run the request again",
			"key", claim.Key, "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if err := k.store.ReleaseIdempotencyKey(ctx, claim); err != nil {
		k.log.WarnContext(ctx, "could not release an idempotency key; it lapses with this replica's lease",
			"key", claim.Key, "err", err)
	}
}

// recordSize is what an answer takes in its record: body and headers.
func recordSize(header map[string][]string, body []byte) int {
	n := len(body)
	for k, vs := range header {
		for _, v := range vs {
			n += len(k) + len(v)
		}
	}
	return n
}

// finalStatus reports whether an answer is final: replayed for the key's
// lifetime. The spec finalizes 2xx and deterministic 4xx. Answers that
// depend on credentials or load (401, 403, 408, 419, 429) and 5xx, which
// include CommitStateUnknown, are not: a retry runs again.
func finalStatus(status int) bool {
	switch {
	case status >= 200 && status < 300:
		return true
	case status >= 400 && status < 500:
		switch status {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestTimeout, 419,
			http.StatusTooEarly, http.StatusTooManyRequests:
			return false
		}
		return true
	}
	return false
}

// replay answers a finished key's request as the first request was answered.
func (h *Handler) replay(w http.ResponseWriter, r *http.Request, rec *ice.IdempotencyRecord) error {
	if resp := rec.Response; resp != nil {
		body := resp.Body
		if _, ok := resp.Header[storedVendedConfig]; ok {
			var err error
			if body, err = withConfig(body, h.tableCfg.with(h.storage.static)); err != nil {
				return err
			}
		}
		for k, v := range resp.Header {
			if k != storedVendedConfig {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(resp.Status)
		_, _ = w.Write(body)
		return nil
	}
	// A commit recorded with its swap: its answer is rebuilt from the
	// metadata files it committed, which never change.
	if r.Pattern == "POST "+tablePath && len(rec.Committed) == 1 {
		c := rec.Committed[0]
		t, err := h.svc.TableAt(r.Context(), c.ID, c.MetadataLocation)
		if err != nil {
			return err
		}
		h.writeCommit(w, r, t)
		return nil
	}
	w.WriteHeader(http.StatusNoContent) // commitTransaction's answer
	return nil
}

// storedVendedConfig marks, in a stored answer's headers (never sent), an
// answer whose config and credentials were left out of etcd: secrets are
// not copied into idempotency records. A replay puts back the configured
// table config and static keys (when the config hands them out); it does
// not vend fresh STS credentials, which a client gets by loading the table.
const storedVendedConfig = "Ice-Stored-Without-Credentials"

// withoutCredentials drops "config" and "storage-credentials" from a
// LoadTableResult-shaped body; ok is false when it has neither.
func withoutCredentials(body []byte) ([]byte, bool) {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return body, false
	}
	_, hasCfg := doc["config"]
	_, hasCreds := doc["storage-credentials"]
	if !hasCfg && !hasCreds {
		return body, false
	}
	delete(doc, "config")
	delete(doc, "storage-credentials")
	out, err := json.Marshal(doc)
	if err != nil {
		return body, false
	}
	return out, true
}

// withConfig sets a stored body's "config" back.
func withConfig(body []byte, cfg map[string]string) ([]byte, error) {
	// Raw values: the metadata goes out byte for byte, its 64-bit ids intact.
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("decode a stored answer: %w", err)
	}
	c, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	doc["config"] = c
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode a replayed answer: %w", err)
	}
	return out, nil
}

// replayHeaders keeps the headers that describe the body; hop-by-hop and
// per-connection ones are the server's to set on each answer.
func replayHeaders(h http.Header) map[string][]string {
	out := map[string][]string{}
	for k, v := range h {
		switch k {
		case "Content-Length", "Date", "Connection", "Transfer-Encoding":
			continue
		}
		out[k] = v
	}
	return out
}

// fingerprint identifies a request: the same key with another fingerprint
// is a different request.
func fingerprint(r *http.Request, body []byte) string {
	who, _ := auth.FromContext(r.Context())
	bodySum := sha256.Sum256(body)
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%x", r.Method, r.URL.EscapedPath(), r.URL.RawQuery, who.Name, bodySum)
	return hex.EncodeToString(h.Sum(nil))
}

// bufferedResponse holds an answer until its outcome is recorded.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) sendTo(w http.ResponseWriter) {
	if b.status == 0 {
		return // nothing was answered: the client went away
	}
	maps.Copy(w.Header(), b.header)
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}

// isoDuration formats d as an ISO-8601 duration for /v1/config: PT30M,
// PT24H, PT1H30M15S.
func isoDuration(d time.Duration) string {
	d = d.Round(time.Second)
	var sb strings.Builder
	sb.WriteString("PT")
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&sb, "%dH", h)
	}
	if m := d % time.Hour / time.Minute; m > 0 {
		fmt.Fprintf(&sb, "%dM", m)
	}
	if s := d % time.Minute / time.Second; s > 0 || d < time.Minute {
		fmt.Fprintf(&sb, "%dS", s)
	}
	return sb.String()
}
