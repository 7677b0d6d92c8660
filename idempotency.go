package ice

import (
	"context"
	"time"
)

// IdempotencyClaim is a replica's hold on an Idempotency-Key while it runs
// the request that carries it. The outcome is stored only while the claim is
// still current (Revision unchanged), so two runs of one key can never both
// record, and a commit can never apply after its claim was lost.
type IdempotencyClaim struct {
	Key         string
	Marker      string        // the store's key counting the claim against its principal's quota; "" for none
	Fingerprint string        // method, path, principal and body hash of the request
	Revision    int64         // the store's revision of the claim
	Lifetime    time.Duration // how long the stored outcome is kept
}

// IdempotencyRecord is what the store holds for a key: a request still
// running (Pending), a stored answer (Response), or a commit that applied
// (Committed), written with its pointer swaps.
type IdempotencyRecord struct {
	Fingerprint string
	Revision    int64
	Pending     bool
	Response    *StoredResponse
	Committed   []CommittedTable
}

// StoredResponse is an answer kept for replay. The store keeps it as
// opaque data: only rest/ gives it meaning.
type StoredResponse struct {
	Status int
	Header map[string][]string
	Body   []byte // JSON, or empty
}

// CommittedTable is one table's new metadata location in a committed record.
type CommittedTable struct {
	ID               TableIdent
	MetadataLocation string
}

// IdempotencyStore keeps the outcomes of requests that carry an
// Idempotency-Key. A key has one record at a time.
type IdempotencyStore interface {
	// ClaimIdempotencyKey marks key as running the request fingerprinted
	// fp, unless the key already has a record, which it returns instead.
	// Exactly one of the results is non-nil when err is nil. A claim
	// lapses by itself if the replica holding it dies. A new claim counts
	// against quota.Owner's keys for the lifetime; one over quota.Max
	// keys is refused with ETOOMANY (a key already claimed is not).
	ClaimIdempotencyKey(ctx context.Context, key, fp string, lifetime time.Duration, quota IdempotencyQuota) (*IdempotencyClaim, *IdempotencyRecord, error)
	// FinishIdempotencyKey stores the answer for the claim's lifetime, if
	// the claim is still current; it reports whether it stored it.
	FinishIdempotencyKey(ctx context.Context, claim *IdempotencyClaim, resp StoredResponse) (bool, error)
	// ReleaseIdempotencyKey deletes the claim, if still current, so that a
	// retry runs the request again.
	ReleaseIdempotencyKey(ctx context.Context, claim *IdempotencyClaim) error
	// AwaitIdempotencyKey returns once key's record changes after revision,
	// or ctx ends.
	AwaitIdempotencyKey(ctx context.Context, key string, revision int64) error
}

// IdempotencyQuota bounds the keys one principal holds at a time, so that
// no client can fill the store with records. Max 0 means no bound.
type IdempotencyQuota struct {
	Owner string // the principal's name
	Max   int
}
