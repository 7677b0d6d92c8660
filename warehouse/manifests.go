package warehouse

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
	"github.com/twmb/avro"
	"github.com/twmb/avro/ocf"

	ice "github.com/ice-rest-catalog/ice"
)

// maxNormalizeBytes bounds a manifest or manifest list read to normalise it.
const maxNormalizeBytes = 64 << 20

// NormalizeSnapshot makes a snapshot that a writer just added readable by
// every Iceberg reader, without changing what it says. ClickHouse (26.5,
// 26.7) writes manifests whose Avro header lacks the keys the spec requires
// from format version 2 on ("content", "partition-spec-id", "schema-id";
// it writes "partition_spec_id" instead) and manifests and manifest lists
// whose Avro schemas carry no field ids, which readers that resolve fields
// by id (iceberg-go for partition values, Java) need. See docs/clients.md.
//
// Only the manifests this snapshot added (added_snapshot_id is the new
// snapshot) and that lie inside the table's location are repaired: files
// that committed metadata may reference are never touched. A repaired
// manifest is a copy with a new header and the same data blocks byte for
// byte; the repaired manifest list is written anew by iceberg-go with the
// same entries. Both get new names under <location>/metadata/, and the
// snapshot returned points at the new list. When nothing needs a repair,
// the snapshot is returned unchanged and changed is false.
//
// md is the table metadata with the snapshot applied: it names the
// partition specs and schemas the headers must state.
func (w *Warehouse) NormalizeSnapshot(ctx context.Context, md table.Metadata, snap table.Snapshot) (out table.Snapshot, changed bool, err error) {
	out = snap
	if md.Version() != 2 || snap.ManifestList == "" || !within(md.Location(), snap.ManifestList) {
		return out, false, nil
	}
	objs, key, err := w.resolve(ctx, snap.ManifestList)
	if err != nil {
		return out, false, err
	}
	listRaw, err := objs.read(ctx, key, maxNormalizeBytes)
	if err != nil {
		return out, false, ice.Invalid("snapshot %d: cannot read its manifest list %s: %w", snap.SnapshotID, snap.ManifestList, err)
	}
	if len(listRaw) > maxNormalizeBytes {
		return out, false, nil
	}
	listHdr, err := readOCFHeader(listRaw)
	if err != nil {
		return out, false, ice.Invalid("snapshot %d: manifest list %s is not an Avro file: %w", snap.SnapshotID, snap.ManifestList, err)
	}
	files, err := iceberg.ReadManifestList(bytes.NewReader(listRaw))
	if err != nil {
		return out, false, ice.Invalid("snapshot %d: manifest list %s: %w", snap.SnapshotID, snap.ManifestList, err)
	}
	listNeeds := !hasFieldIDs(listHdr.meta["avro.schema"])
	metaDir := strings.TrimRight(md.Location(), "/") + "/metadata/"
	repaired := false
	for i, mf := range files {
		if mf.SnapshotID() != snap.SnapshotID || !within(md.Location(), mf.FilePath()) || mf.Length() > maxNormalizeBytes {
			continue
		}
		newRaw, ok, err := w.normalizeManifest(ctx, md, snap, mf)
		if err != nil {
			return out, false, err
		}
		if !ok {
			continue
		}
		newPath := metaDir + strings.TrimSuffix(path.Base(mf.FilePath()), ".avro") + "-n" + uuid.NewString()[:8] + ".avro"
		if err := w.writeFile(ctx, newPath, newRaw); err != nil {
			return out, false, err
		}
		files[i] = withPath(mf, newPath, int64(len(newRaw)))
		repaired = true
	}
	if !repaired && !listNeeds {
		return out, false, nil
	}
	var buf bytes.Buffer
	seq := snap.SequenceNumber
	if err := iceberg.WriteManifestList(2, &buf, snap.SnapshotID, snap.ParentSnapshotID, &seq, 0, files); err != nil {
		return out, false, ice.Invalid("snapshot %d: rewrite its manifest list: %w", snap.SnapshotID, err)
	}
	newList := metaDir + "snap-" + strconv.FormatInt(snap.SnapshotID, 10) + "-n" + uuid.NewString() + ".avro"
	if err := w.writeFile(ctx, newList, buf.Bytes()); err != nil {
		return out, false, err
	}
	out.ManifestList = newList
	return out, true, nil
}

func (w *Warehouse) writeFile(ctx context.Context, location string, data []byte) error {
	objs, key, err := w.resolve(ctx, location)
	if err != nil {
		return err
	}
	if err := objs.write(ctx, key, data); err != nil {
		return ice.Unavailable("cannot write a normalised manifest to storage", fmt.Errorf("write %s: %w", location, err))
	}
	return nil
}

// within reports whether file lies under the table location dir.
// within reports whether file lies inside the table location dir, by the
// domain's one rule (ice.CheckPath).
func within(dir, file string) bool {
	loc, err := ice.ParseLocation(dir)
	return err == nil && ice.CheckPath(loc, file) == nil
}

// normalizeManifest returns the manifest with the header keys and field ids
// it lacks, or ok=false when it lacks none.
func (w *Warehouse) normalizeManifest(ctx context.Context, md table.Metadata, snap table.Snapshot, mf iceberg.ManifestFile) ([]byte, bool, error) {
	objs, key, err := w.resolve(ctx, mf.FilePath())
	if err != nil {
		return nil, false, err
	}
	raw, err := objs.read(ctx, key, maxNormalizeBytes)
	if err != nil {
		return nil, false, ice.Invalid("snapshot %d: cannot read its manifest %s: %w", snap.SnapshotID, mf.FilePath(), err)
	}
	hdr, err := readOCFHeader(raw)
	if err != nil {
		return nil, false, ice.Invalid("snapshot %d: manifest %s is not an Avro file: %w", snap.SnapshotID, mf.FilePath(), err)
	}
	var spec *iceberg.PartitionSpec
	for _, s := range md.PartitionSpecs() {
		if s.ID() == int(mf.PartitionSpecID()) {
			spec = &s
			break
		}
	}
	if spec == nil {
		return nil, false, ice.Errorf(ice.EINVALID, "snapshot %d: manifest %s names partition spec %d, which the table does not have", snap.SnapshotID, mf.FilePath(), mf.PartitionSpecID())
	}
	schemaID := md.CurrentSchema().ID
	if snap.SchemaID != nil {
		schemaID = *snap.SchemaID
	}
	var schema *iceberg.Schema
	for _, sc := range md.Schemas() {
		if sc.ID == schemaID {
			schema = sc
		}
	}
	if schema == nil {
		return nil, false, ice.Errorf(ice.EINVALID, "snapshot %d names schema %d, which the table does not have", snap.SnapshotID, schemaID)
	}

	add := map[string][]byte{}
	content := "data"
	if mf.ManifestContent() == iceberg.ManifestContentDeletes {
		content = "deletes"
	}
	if c, ok := hdr.meta["content"]; !ok {
		add["content"] = []byte(content)
	} else if string(c) != content {
		return nil, false, ice.Errorf(ice.EINVALID, "manifest %s says content %q, its manifest list entry %q", mf.FilePath(), c, content)
	}
	specID := strconv.Itoa(spec.ID())
	if v, ok := hdr.meta["partition-spec-id"]; !ok {
		if alt, ok := hdr.meta["partition_spec_id"]; ok && string(alt) != specID {
			return nil, false, ice.Errorf(ice.EINVALID, "manifest %s says partition spec %s, its manifest list entry %s", mf.FilePath(), alt, specID)
		}
		add["partition-spec-id"] = []byte(specID)
	} else if string(v) != specID {
		return nil, false, ice.Errorf(ice.EINVALID, "manifest %s says partition spec %s, its manifest list entry %s", mf.FilePath(), v, specID)
	}
	if _, ok := hdr.meta["partition-spec"]; !ok {
		b, err := json.Marshal(specFields(spec))
		if err != nil {
			return nil, false, err
		}
		add["partition-spec"] = b
	}
	if _, ok := hdr.meta["schema"]; !ok {
		b, err := json.Marshal(schema)
		if err != nil {
			return nil, false, err
		}
		add["schema"] = b
	}
	if _, ok := hdr.meta["schema-id"]; !ok {
		add["schema-id"] = []byte(strconv.Itoa(schemaID))
	}
	if _, ok := hdr.meta["format-version"]; !ok {
		add["format-version"] = []byte("2")
	}
	newSchema, idsAdded, err := addManifestFieldIDs(hdr.meta["avro.schema"], spec)
	if err != nil {
		return nil, false, ice.Invalid("manifest %s: its Avro schema: %w", mf.FilePath(), err)
	}
	recs, formatFixed, err := normalizeFileFormats(raw)
	if err != nil {
		return nil, false, ice.Invalid("manifest %s: %w", mf.FilePath(), err)
	}
	if len(add) == 0 && !idsAdded && !formatFixed {
		return nil, false, nil
	}
	meta := make(map[string][]byte, len(hdr.meta)+len(add))
	for k, v := range hdr.meta {
		meta[k] = v
	}
	for k, v := range add {
		meta[k] = v
	}
	if idsAdded {
		meta["avro.schema"] = newSchema
	}
	var buf bytes.Buffer
	if !formatFixed {
		writeOCFHeader(&buf, meta, hdr.sync)
		buf.Write(raw[hdr.size:]) // the data blocks, unchanged
		return buf.Bytes(), true, nil
	}
	// A value changed: the entries are encoded again, with the same schema.
	sc, err := avro.Parse(string(meta["avro.schema"]))
	if err != nil {
		return nil, false, ice.Invalid("manifest %s: its Avro schema: %w", mf.FilePath(), err)
	}
	user := map[string][]byte{}
	for k, v := range meta {
		if !strings.HasPrefix(k, "avro.") {
			user[k] = v
		}
	}
	ow, err := ocf.NewWriter(&buf, sc, ocf.WithMetadata(user), ocf.WithCodec(ocf.DeflateCodec(-1)))
	if err != nil {
		return nil, false, err
	}
	for _, r := range recs {
		if err := ow.Encode(r); err != nil {
			return nil, false, ice.Invalid("manifest %s: encode an entry: %w", mf.FilePath(), err)
		}
	}
	if err := ow.Close(); err != nil {
		return nil, false, err
	}
	return buf.Bytes(), true, nil
}

// normalizeFileFormats decodes a manifest's entries and upper-cases each
// data file's file_format ("Parquet" -> "PARQUET"): the spec's formats are
// case-insensitive names (Java reads them so), but iceberg-go only accepts
// the upper-case form. fixed reports whether any value changed.
func normalizeFileFormats(raw []byte) (recs []any, fixed bool, err error) {
	rd, err := ocf.NewReader(bytes.NewReader(raw), ocf.WithMaxDecompressedBlockBytes(maxNormalizeBytes))
	if err != nil {
		return nil, false, err
	}
	defer rd.Close()
	for {
		var r any
		if err := rd.Decode(&r); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, false, err
		}
		if m, ok := r.(map[string]any); ok {
			if df, ok := m["data_file"].(map[string]any); ok {
				if f, ok := df["file_format"].(string); ok && f != strings.ToUpper(f) {
					df["file_format"] = strings.ToUpper(f)
					fixed = true
				}
			}
		}
		recs = append(recs, r)
	}
	return recs, fixed, nil
}

func specFields(spec *iceberg.PartitionSpec) []iceberg.PartitionField {
	out := []iceberg.PartitionField{}
	for _, f := range spec.Fields() {
		out = append(out, f)
	}
	return out
}

// withPath is mf at a new path and length, every other field kept.
func withPath(mf iceberg.ManifestFile, p string, length int64) iceberg.ManifestFile {
	b := iceberg.NewManifestFile(2, p, length, mf.PartitionSpecID(), mf.SnapshotID()).
		SequenceNum(mf.SequenceNum(), mf.MinSequenceNum()).
		Content(mf.ManifestContent()).
		AddedFiles(mf.AddedDataFiles()).ExistingFiles(mf.ExistingDataFiles()).DeletedFiles(mf.DeletedDataFiles()).
		AddedRows(mf.AddedRows()).ExistingRows(mf.ExistingRows()).DeletedRows(mf.DeletedRows()).
		Partitions(mf.Partitions()).KeyMetadata(mf.KeyMetadata())
	return b.Build()
}

// ocfHeader is an Avro object container file's header: its metadata map,
// sync marker and length in bytes.
type ocfHeader struct {
	meta map[string][]byte
	sync [16]byte
	size int
}

var errShortOCF = errors.New("truncated Avro header")

func readOCFHeader(raw []byte) (ocfHeader, error) {
	h := ocfHeader{meta: map[string][]byte{}}
	if len(raw) < 4 || string(raw[:4]) != "Obj\x01" {
		return h, errors.New("no Avro magic")
	}
	p := 4
	readLong := func() (int64, error) {
		v, n := binary.Varint(raw[p:])
		if n <= 0 {
			return 0, errShortOCF
		}
		p += n
		return v, nil
	}
	readBytes := func() ([]byte, error) {
		n, err := readLong()
		if err != nil || n < 0 || int64(len(raw)-p) < n {
			return nil, errShortOCF
		}
		b := raw[p : p+int(n)]
		p += int(n)
		return b, nil
	}
	for {
		count, err := readLong()
		if err != nil {
			return h, err
		}
		if count == 0 {
			break
		}
		if count < 0 {
			count = -count
			if _, err := readLong(); err != nil { // the block's size in bytes
				return h, err
			}
		}
		for ; count > 0; count-- {
			k, err := readBytes()
			if err != nil {
				return h, err
			}
			v, err := readBytes()
			if err != nil {
				return h, err
			}
			h.meta[string(k)] = v
		}
	}
	if len(raw)-p < 16 {
		return h, errShortOCF
	}
	copy(h.sync[:], raw[p:p+16])
	h.size = p + 16
	return h, nil
}

func writeOCFHeader(buf *bytes.Buffer, meta map[string][]byte, sync [16]byte) {
	var tmp [binary.MaxVarintLen64]byte
	long := func(v int64) { buf.Write(tmp[:binary.PutVarint(tmp[:], v)]) }
	buf.WriteString("Obj\x01")
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	long(int64(len(keys)))
	for _, k := range keys {
		long(int64(len(k)))
		buf.WriteString(k)
		long(int64(len(meta[k])))
		buf.Write(meta[k])
	}
	long(0)
	buf.Write(sync[:])
}

func hasFieldIDs(avroSchema []byte) bool {
	return bytes.Contains(avroSchema, []byte(`"field-id"`))
}

// Field ids of the manifest entry and data file structs (Iceberg spec,
// "Manifests"), by field name.
var manifestFieldIDs = map[string]int{
	"status": 0, "snapshot_id": 1, "data_file": 2, "sequence_number": 3, "file_sequence_number": 4,
	"file_path": 100, "file_format": 101, "partition": 102, "record_count": 103, "file_size_in_bytes": 104,
	"column_sizes": 108, "value_counts": 109, "null_value_counts": 110, "lower_bounds": 125,
	"upper_bounds": 128, "key_metadata": 131, "split_offsets": 132, "content": 134, "equality_ids": 135,
	"nan_value_counts": 137, "sort_order_id": 140, "first_row_id": 142, "referenced_data_file": 143,
	"content_offset": 144, "content_size_in_bytes": 145,
}

// Element ids of the list fields.
var manifestElementIDs = map[string]int{"split_offsets": 133, "equality_ids": 136}

// addManifestFieldIDs adds the spec's field ids to a manifest's Avro schema
// (as JSON) where they are missing: the entry and data file fields by name,
// the key and value of the map-as-array fields from their record names
// (k117_v118), and the partition fields from the spec, by name. The binary
// encoding does not depend on these attributes, so the data blocks stay valid.
func addManifestFieldIDs(schemaJSON []byte, spec *iceberg.PartitionSpec) ([]byte, bool, error) {
	if len(schemaJSON) == 0 {
		return nil, false, errors.New("no avro.schema")
	}
	dec := json.NewDecoder(bytes.NewReader(schemaJSON))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, false, err
	}
	partIDs := map[string]int{}
	for _, f := range spec.Fields() {
		partIDs[f.Name] = f.FieldID
	}
	added := false
	var walkType func(t any, inPartition bool, fieldName string)
	walkRecordFields := func(rec map[string]any, ids func(name string) (int, bool), inPartition bool) {
		fields, _ := rec["fields"].([]any)
		for _, f := range fields {
			fm, ok := f.(map[string]any)
			if !ok {
				continue
			}
			name, _ := fm["name"].(string)
			if _, has := fm["field-id"]; !has {
				if id, ok := ids(name); ok {
					fm["field-id"] = id
					added = true
				}
			}
			walkType(fm["type"], inPartition || (name == "partition" && !inPartition), name)
		}
	}
	walkType = func(t any, inPartition bool, fieldName string) {
		switch tt := t.(type) {
		case []any: // a union
			for _, u := range tt {
				walkType(u, inPartition, fieldName)
			}
		case map[string]any:
			switch tt["type"] {
			case "record":
				recName, _ := tt["name"].(string)
				switch {
				case fieldName == "partition":
					walkRecordFields(tt, func(n string) (int, bool) { id, ok := partIDs[n]; return id, ok }, true)
				case strings.HasPrefix(recName, "k") && strings.Contains(recName, "_v"):
					k, v, ok := strings.Cut(strings.TrimPrefix(recName, "k"), "_v")
					kid, err1 := strconv.Atoi(k)
					vid, err2 := strconv.Atoi(v)
					walkRecordFields(tt, func(n string) (int, bool) {
						if !ok || err1 != nil || err2 != nil {
							return 0, false
						}
						switch n {
						case "key":
							return kid, true
						case "value":
							return vid, true
						}
						return 0, false
					}, inPartition)
				default:
					walkRecordFields(tt, func(n string) (int, bool) { id, ok := manifestFieldIDs[n]; return id, ok }, inPartition)
				}
			case "array":
				if id, ok := manifestElementIDs[fieldName]; ok {
					if _, has := tt["element-id"]; !has {
						tt["element-id"] = id
						added = true
					}
				}
				walkType(tt["items"], inPartition, fieldName)
			}
		}
	}
	walkType(root, false, "")
	if !added {
		return nil, false, nil
	}
	out, err := json.Marshal(root)
	return out, true, err
}
