// Package etcd is the Store on etcd's clientv3, in the key layout of the Java
// ice-rest-catalog, plus the embedded etcd server of the zero-config default.
package etcd

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	ice "github.com/ice-rest-catalog/ice"
)

// The value keys of a table entry, as Iceberg's metastore catalogs name them.
const (
	attrTableType        = "table_type"
	attrMetadataLocation = "metadata_location"
	attrPreviousLocation = "previous_metadata_location"
	tableTypeIceberg     = "ICEBERG"
	// A view entry names its kind with view_type, in the style of table_type.
	attrViewType = "view_type"
)

// keys builds the etcd keys of one catalog. The catalog named "default" has no
// prefix; any other is prefixed with "<name>/", as the Java server does.
type keys struct{ prefix string }

func newKeys(catalogName string) keys {
	if catalogName == "" || catalogName == "default" {
		return keys{}
	}
	return keys{prefix: catalogName + "/"}
}

func (k keys) namespace(ns ice.Namespace) string { return k.prefix + "n/" + ns.Path() }

// namespaceChildren is the prefix under which ns's child namespaces live.
func (k keys) namespaceChildren(ns ice.Namespace) string {
	if len(ns) == 0 {
		return k.prefix + "n/"
	}
	return k.namespace(ns) + "/"
}

// kind tells a table's entry from a view's. Both have the same value shape
// and the same operations; a kind says where its entries live, which
// attribute names their type and how their absence or presence reads.
// Tables live under t/ and views under v/; a table and a view never share
// an identifier (see Store.swapOps and Store.rename).
type kind uint8

const (
	tableKind kind = iota
	viewKind
)

// kindOf is the kind of a deleted entry's Kind (ice.KindTable, ice.KindView).
func kindOf(name string) kind {
	if name == ice.KindView {
		return viewKind
	}
	return tableKind
}

func (k kind) String() string {
	if k == viewKind {
		return ice.KindView
	}
	return ice.KindTable
}

// other is the kind whose key a create or rename of k also checks.
func (k kind) other() kind { return 1 - k }

func (k kind) dir() string {
	if k == viewKind {
		return "v/"
	}
	return "t/"
}

// typeKey is the value attribute that names the entry's type.
func (k kind) typeKey() string {
	if k == viewKind {
		return attrViewType
	}
	return attrTableType
}

// noSuch reports id missing.
func (k kind) noSuch(id ice.TableIdent) *ice.Error {
	if k == viewKind {
		return ice.NoSuchView(id)
	}
	return ice.NoSuchTable(id)
}

// exists reports id held by an entry of this kind.
func (k kind) exists(id ice.TableIdent) *ice.Error {
	if k == viewKind {
		return ice.AlreadyExists("View with same name already exists: %s", id)
	}
	return ice.AlreadyExists("Table with same name already exists: %s", id)
}

// refusesCreate lists the kinds whose entry at a create's identifier the
// store reports as AlreadyExists when the create is refused. A table found
// by a table create is not one of them: that create lost a race, which the
// commit path retries (and reports as CommitFailed) from a fresh base.
func (k kind) refusesCreate() []kind {
	if k == viewKind {
		return []kind{viewKind, tableKind}
	}
	return []kind{viewKind}
}

// entry is the key of id's entry of kind kd.
func (k keys) entry(kd kind, id ice.TableIdent) string {
	return k.prefix + kd.dir() + id.Namespace.Path() + "/" + id.Name
}

// entriesIn is the prefix under which ns's entries of kind kd (and its
// children's) live.
func (k keys) entriesIn(kd kind, ns ice.Namespace) string {
	return k.prefix + kd.dir() + ns.Path() + "/"
}

func (k keys) table(id ice.TableIdent) string   { return k.entry(tableKind, id) }
func (k keys) view(id ice.TableIdent) string    { return k.entry(viewKind, id) }
func (k keys) tablesIn(ns ice.Namespace) string { return k.entriesIn(tableKind, ns) }

// idempotency is the key of an Idempotency-Key's record.
func (k keys) idempotency(key string) string { return k.prefix + "idempotency/" + key }

// idempotencyOwned is the prefix of the markers that count one principal's
// keys against its quota: idempotency/owner/<hash of the principal>/. A
// record's key is a UUID, so it never falls under it.
func (k keys) idempotencyOwned(owner string) string {
	sum := sha256.Sum256([]byte(owner))
	return k.prefix + "idempotency/owner/" + hex.EncodeToString(sum[:16]) + "/"
}

func decodeProps(b []byte) (map[string]string, error) {
	props := map[string]string{}
	// The Java server may have stored "null" for a namespace created without properties.
	if err := json.Unmarshal(b, &props); err != nil {
		return nil, fmt.Errorf("decode etcd value %q: %w", truncate(b), err)
	}
	if props == nil {
		props = map[string]string{}
	}
	return props, nil
}

func encodeProps(props map[string]string) string {
	if props == nil {
		props = map[string]string{}
	}
	b, err := json.Marshal(props)
	if err != nil { // a map of strings always encodes
		panic(err)
	}
	return string(b)
}

func decodePointer(b []byte, revision int64) (ice.TablePointer, error) {
	attrs, err := decodeProps(b)
	if err != nil {
		return ice.TablePointer{}, err
	}
	return ice.TablePointer{
		MetadataLocation:         attrs[attrMetadataLocation],
		PreviousMetadataLocation: attrs[attrPreviousLocation],
		Revision:                 revision,
		LocationKey:              attrs[attrLocationKey],
		Attrs:                    attrs,
	}, nil
}

// encodeEntry is the entry after a swap: the base's keys are kept, the new
// location is current and the base's location becomes the previous one. A
// new entry has no previous location. typeKey names the entry's type
// attribute (table_type or view_type).
func encodeEntry(typeKey string, s ice.TableSwap) string {
	attrs := make(map[string]string, len(s.Base.Attrs)+3)
	for k, v := range s.Base.Attrs {
		attrs[k] = v
	}
	if attrs[typeKey] == "" {
		attrs[typeKey] = tableTypeIceberg
	}
	attrs[attrMetadataLocation] = s.NewLocation
	if s.ClaimLocation != "" {
		attrs[attrLocationKey] = s.ClaimLocation
	}
	if s.Base.MetadataLocation != "" {
		attrs[attrPreviousLocation] = s.Base.MetadataLocation
	} else {
		delete(attrs, attrPreviousLocation)
	}
	return encodeProps(attrs)
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}
