package warehouse

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/apache/iceberg-go/table"
)

// encodedSnapshots maps a snapshot's ID to its JSON within a metadata file
// this catalog encoded: slices of the file's own bytes, kept with the
// cached file so the next commit on the table reuses them.
type encodedSnapshots map[int64][]byte

// draft is a commit's result on its way to storage, with the snapshot
// lists that encoding and checking it both walk: iceberg-go's accessors
// copy the list on every call, and look one snapshot up in a rebuilt index.
type draft struct {
	md        table.Metadata
	snaps     []table.Snapshot
	base      *Metadata                 // nil for a new table
	baseSnaps map[int64]*table.Snapshot // base's snapshots by ID
}

func newDraft(md table.Metadata, base *Metadata) *draft {
	d := &draft{md: md, snaps: md.Snapshots()}
	if base != nil && base.Parsed != nil {
		d.base = base
		bs := base.Parsed.Snapshots()
		d.baseSnaps = make(map[int64]*table.Snapshot, len(bs))
		for i := range bs {
			d.baseSnaps[bs[i].SnapshotID] = &bs[i]
		}
	}
	return d
}

// baseModel is the base's parsed model, nil for a new table.
func (d *draft) baseModel() table.Metadata {
	if d.base == nil {
		return nil
	}
	return d.base.Parsed
}

// encodeDraft is json.Marshal(d.md), byte for byte, at less cost.
//
// json.Marshal would scan and copy the whole result once more to validate
// and compact it, though iceberg-go's types build it with json.Marshal
// already; and it re-encodes every snapshot, though a commit adds one or
// two to a history that may hold hundreds. Snapshots and their encoding
// were a third of a commit's CPU (ice-bench profiles, docs/benchmarks.md).
//
// So, where iceberg-go's metadata types allow it, the file is encoded as
// iceberg-go encodes it with its snapshot list emptied (every field in
// iceberg-go's order, the snapshot list being the last), and the list is
// appended: each snapshot that the base holds unchanged is copied from its
// encoding, each other one encoded. TestEncodeMetadataMatchesJSONMarshal
// and FuzzApplyUpdates (service) hold the result to json.Marshal's.
func encodeDraft(d *draft) ([]byte, encodedSnapshots, error) {
	md, snaps := d.md, d.snaps
	head, ok := withoutSnapshots(md)
	if !ok || len(snaps) == 0 {
		raw, err := encodeWhole(md)
		return raw, nil, err
	}
	hb, err := head.MarshalJSON()
	if err != nil {
		return nil, nil, err
	}
	if len(hb) < 2 || hb[len(hb)-1] != '}' {
		raw, err := encodeWhole(md)
		return raw, nil, err
	}
	var prev encodedSnapshots
	if d.base != nil {
		prev = d.base.snapshots
	}
	out := make([]byte, 0, len(hb)+len(snaps)*512)
	out = append(out, hb[:len(hb)-1]...)
	if len(hb) > 2 {
		out = append(out, ',')
	}
	out = append(out, `"snapshots":[`...)
	spans := make([][2]int, len(snaps))
	for i := range snaps {
		if i > 0 {
			out = append(out, ',')
		}
		start := len(out)
		if b, ok := prev[snaps[i].SnapshotID]; ok && d.unchanged(&snaps[i]) {
			out = append(out, b...)
		} else {
			b, err := json.Marshal(snaps[i])
			if err != nil {
				return nil, nil, err
			}
			out = append(out, b...)
		}
		spans[i] = [2]int{start, len(out)}
	}
	out = append(out, ']', '}')
	enc := make(encodedSnapshots, len(snaps))
	for i := range snaps {
		enc[snaps[i].SnapshotID] = out[spans[i][0]:spans[i][1]:spans[i][1]]
	}
	return out, enc, nil
}

// unchanged reports whether the base holds snapshot s as it is.
func (d *draft) unchanged(s *table.Snapshot) bool {
	old := d.baseSnaps[s.SnapshotID]
	return old != nil && old.Equals(*s)
}

// encodeWhole is json.Marshal(md) without json.Marshal's last pass over
// the result.
func encodeWhole(md table.Metadata) ([]byte, error) {
	if m, ok := md.(json.Marshaler); ok {
		return m.MarshalJSON()
	}
	return json.Marshal(md)
}

// withoutSnapshots returns a shallow copy of md with an empty snapshot
// list, if md is one of iceberg-go's metadata structs with its snapshots
// in the exported SnapshotList field (and none deferred); else false.
func withoutSnapshots(md table.Metadata) (json.Marshaler, bool) {
	v := reflect.ValueOf(md)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil, false
	}
	cp := reflect.New(v.Elem().Type())
	cp.Elem().Set(v.Elem())
	list := cp.Elem().FieldByName("SnapshotList")
	if !list.IsValid() || !list.CanSet() || list.Kind() != reflect.Slice {
		return nil, false
	}
	if d := cp.Elem().FieldByName("deferredSnapshots"); !d.IsValid() || d.Kind() != reflect.Pointer || !d.IsNil() {
		return nil, false
	}
	list.Set(reflect.Zero(list.Type()))
	m, ok := cp.Interface().(json.Marshaler)
	return m, ok
}

// WithEmptyLists adds "snapshots", "snapshot-log" and "metadata-log" as
// empty arrays to an encoded metadata file that has none of them (a table
// without snapshots). The spec makes them optional and iceberg-go omits them
// when empty, but ClickHouse 26.5 and 26.7 append to them without checking
// that they exist, so its first INSERT into an empty table failed with
// "Poco::NullPointerException" (docs/clients.md). Java's writer always
// writes them. raw is never modified.
func WithEmptyLists(raw []byte) []byte {
	var add []byte
	for _, k := range []string{"snapshots", "snapshot-log", "metadata-log"} {
		if !bytes.Contains(raw, []byte(`"`+k+`":`)) {
			add = append(add, `,"`+k+`":[]`...)
		}
	}
	for _, k := range []string{"properties", "refs"} {
		if !bytes.Contains(raw, []byte(`"`+k+`":`)) {
			add = append(add, `,"`+k+`":{}`...)
		}
	}
	if len(add) == 0 || len(raw) < 2 || raw[len(raw)-1] != '}' {
		return raw
	}
	out := make([]byte, 0, len(raw)+len(add))
	out = append(out, raw[:len(raw)-1]...)
	out = append(out, add...)
	return append(out, '}')
}
