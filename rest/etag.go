package rest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/ice-rest-catalog/ice/service"
)

// Snapshot modes of loadTable's ?snapshots=.
const (
	snapshotsAll  = "all"
	snapshotsRefs = "refs"
)

// tableETag is the strong validator of a LoadTableResult. The body is a
// pure function of its inputs: a metadata file is never rewritten in place,
// the snapshots mode selects what part of it is sent, the vended flag adds
// the static vended keys, and cfgTag fingerprints the server's config map,
// so a config change (a rollout) never answers 304 with stale settings.
// A staged create has no metadata location; its metadata is fresh each time,
// so its own bytes are hashed instead.
func tableETag(t *service.TableFile, snapshots string, vended bool, cfgTag string) string {
	h := sha256.New()
	fmt.Fprintf(h, "config\x00%s\x00", cfgTag)
	if t.Location != "" {
		fmt.Fprintf(h, "location\x00%s\x00", t.Location)
	} else {
		fmt.Fprintf(h, "staged\x00%s\x00", t.Metadata.Raw)
	}
	fmt.Fprintf(h, "%s\x00%t", snapshots, vended)
	return `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"` // RFC 9110 §8.8.3: an entity-tag is quoted
}

// noneMatch reports whether an If-None-Match header value matches etag:
// "*" or any listed tag. RFC 9110 §13.1.2 compares If-None-Match weakly,
// so a W/ prefix on the client's copy does not prevent a match.
func noneMatch(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}

// refsOnly returns metadata JSON whose "snapshots" keeps only the snapshots
// that branches and tags reference, for loadTable ?snapshots=refs. It edits
// the raw JSON rather than re-encoding iceberg-go's model so that every
// other field goes out exactly as the metadata file has it.
func refsOnly(raw []byte) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("decode metadata: %w", err)
	}
	if _, ok := doc["snapshots"]; !ok {
		return raw, nil
	}
	keep := map[int64]bool{}
	if r, ok := doc["refs"]; ok {
		var refs map[string]struct {
			SnapshotID int64 `json:"snapshot-id"`
		}
		if err := json.Unmarshal(r, &refs); err != nil {
			return nil, fmt.Errorf("decode metadata refs: %w", err)
		}
		for _, ref := range refs {
			keep[ref.SnapshotID] = true
		}
	}
	// Format v1 metadata may carry no refs; there the current snapshot is
	// the implicit main branch, which readers must still find.
	if c, ok := doc["current-snapshot-id"]; ok {
		var id *int64
		if err := json.Unmarshal(c, &id); err != nil {
			return nil, fmt.Errorf("decode current-snapshot-id: %w", err)
		}
		if id != nil && *id != -1 {
			keep[*id] = true
		}
	}
	var snaps []json.RawMessage
	if err := json.Unmarshal(doc["snapshots"], &snaps); err != nil {
		return nil, fmt.Errorf("decode metadata snapshots: %w", err)
	}
	kept := make([]json.RawMessage, 0, len(keep))
	for _, s := range snaps {
		var snap struct {
			SnapshotID int64 `json:"snapshot-id"`
		}
		if err := json.Unmarshal(s, &snap); err != nil {
			return nil, fmt.Errorf("decode snapshot: %w", err)
		}
		if keep[snap.SnapshotID] {
			kept = append(kept, s)
		}
	}
	if len(kept) == len(snaps) {
		return raw, nil // nothing unreferenced: the file as it is
	}
	enc, err := json.Marshal(kept)
	if err != nil {
		return nil, fmt.Errorf("encode snapshots: %w", err)
	}
	doc["snapshots"] = enc
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	return out, nil
}

// setETag sets the ETag header of a table answer.
func setETag(w http.ResponseWriter, etag string) { w.Header().Set("ETag", etag) }

// configFingerprint hashes config maps in key order.
func configFingerprint(ms ...map[string]string) string {
	h := sha256.New()
	for _, m := range ms {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(h, "%s\x00%s\x00", k, m[k])
		}
		h.Write([]byte{1})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
