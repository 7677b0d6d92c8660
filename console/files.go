package console

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	ice "github.com/ice-rest-catalog/ice"
)

// The file-size histogram's bucket upper bounds, in bytes; the last bucket
// is open.
var sizeBuckets = []int64{1 << 20, 4 << 20, 16 << 20, 64 << 20, 128 << 20, 256 << 20, 512 << 20}

const (
	// smallFileBytes is what counts as a small file: well under any
	// sensible write.target-file-size-bytes, and the size below which
	// readers pay more per file than per byte.
	smallFileBytes = 16 << 20
	// defaultTargetFileBytes is Iceberg's write.target-file-size-bytes
	// default.
	defaultTargetFileBytes = 512 << 20
	// maxPartitions bounds the per-partition table kept while a snapshot's
	// manifests are read; the rest are counted together, so a table with
	// millions of partitions cannot run the server out of memory.
	maxPartitions = 10000
	// topPartitions is how many partitions (by bytes) the answer lists.
	topPartitions = 100
)

// Bucket is one bar of the file-size histogram.
type Bucket struct {
	UpTo  int64 `json:"upTo"` // exclusive upper bound; 0: no bound
	Files int64 `json:"files"`
	Bytes int64 `json:"bytes"`
}

// Partition is one partition's share of a snapshot's data files.
type Partition struct {
	Key   string `json:"key"` // "day=2025-03-01/region=eu"; "" unpartitioned
	Rows  int64  `json:"rows"`
	Files int64  `json:"files"`
	Bytes int64  `json:"bytes"`
}

// FileStats is what a snapshot's manifests say about its live files.
type FileStats struct {
	SnapshotID       int64       `json:"snapshotId"`
	Manifests        int         `json:"manifests"`
	DataFiles        int64       `json:"dataFiles"`
	DeleteFiles      int64       `json:"deleteFiles"`
	Rows             int64       `json:"rows"`
	Bytes            int64       `json:"bytes"`
	DeleteBytes      int64       `json:"deleteBytes"`
	Histogram        []Bucket    `json:"histogram"`
	SmallFileBytes   int64       `json:"smallFileBytes"` // the threshold
	SmallFiles       int64       `json:"smallFiles"`
	SmallBytes       int64       `json:"smallBytes"`
	TargetFileBytes  int64       `json:"targetFileBytes"`
	PartitionCount   int64       `json:"partitionCount"`   // distinct partitions, up to maxPartitions
	PartitionsCapped bool        `json:"partitionsCapped"` // more than maxPartitions: the rest are in "(other)"
	Partitions       []Partition `json:"partitions"`       // the largest, by bytes
}

// fileStats reads every manifest of snap and adds up its live files.
func fileStats(md table.Metadata, snap *table.Snapshot, fio icebergio.IO) (*FileStats, error) {
	st := &FileStats{SnapshotID: snap.SnapshotID, SmallFileBytes: smallFileBytes, TargetFileBytes: targetFileBytes(md)}
	for _, ub := range sizeBuckets {
		st.Histogram = append(st.Histogram, Bucket{UpTo: ub})
	}
	st.Histogram = append(st.Histogram, Bucket{})
	manifests, err := snap.Manifests(fio)
	if err != nil {
		return nil, fmt.Errorf("read manifest list of snapshot %d: %w", snap.SnapshotID, err)
	}
	st.Manifests = len(manifests)
	parts := map[string]*Partition{}
	other := &Partition{Key: "(other)"}
	err = readManifests(manifests, fio, func(entries []iceberg.ManifestEntry) {
		for _, e := range entries {
			df := e.DataFile()
			if df.ContentType() != iceberg.EntryContentData {
				st.DeleteFiles++
				st.DeleteBytes += df.FileSizeBytes()
				continue
			}
			size := df.FileSizeBytes()
			st.DataFiles++
			st.Rows += df.Count()
			st.Bytes += size
			b := sort.Search(len(sizeBuckets), func(i int) bool { return size < sizeBuckets[i] })
			st.Histogram[b].Files++
			st.Histogram[b].Bytes += size
			if size < smallFileBytes {
				st.SmallFiles++
				st.SmallBytes += size
			}
			key := partitionKey(md, df)
			p, ok := parts[key]
			if !ok {
				if len(parts) >= maxPartitions {
					st.PartitionsCapped = true
					p = other
				} else {
					p = &Partition{Key: key}
					parts[key] = p
				}
			}
			p.Rows += df.Count()
			p.Files++
			p.Bytes += size
		}
	})
	if err != nil {
		return nil, err
	}
	st.PartitionCount = int64(len(parts))
	all := make([]Partition, 0, len(parts)+1)
	for _, p := range parts {
		all = append(all, *p)
	}
	if other.Files > 0 {
		all = append(all, *other)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Bytes != all[j].Bytes {
			return all[i].Bytes > all[j].Bytes
		}
		return all[i].Key < all[j].Key
	})
	if len(all) > topPartitions {
		all = all[:topPartitions]
	}
	st.Partitions = all
	return st, nil
}

// manifestReaders is how many manifests are decoded at once: decoding is
// the cost of a large table's stats, and at most this many manifests'
// entries are held in memory.
const manifestReaders = 4

// readManifests decodes the manifests' live entries, several at a time,
// and hands them to add one manifest at a time, in the manifests' order, so
// the result does not depend on which decode finishes first.
func readManifests(manifests []iceberg.ManifestFile, fio icebergio.IO, add func([]iceberg.ManifestEntry)) error {
	type result struct {
		entries []iceberg.ManifestEntry
		err     error
	}
	slots := make([]chan result, len(manifests))
	for i := range slots {
		slots[i] = make(chan result, 1)
	}
	sem := make(chan struct{}, manifestReaders)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i, mf := range manifests {
			select {
			case sem <- struct{}{}:
			case <-stop:
				return
			}
			go func() {
				entries, err := mf.FetchEntries(fio, true)
				if err != nil {
					err = fmt.Errorf("read manifest %s: %w", mf.FilePath(), err)
				}
				slots[i] <- result{entries, err}
			}()
		}
	}()
	for i := range manifests {
		r := <-slots[i]
		if r.err != nil {
			return r.err
		}
		add(r.entries)
		<-sem // this manifest's entries are done with: let the next decode start
	}
	return nil
}

func targetFileBytes(md table.Metadata) int64 {
	if v, ok := md.Properties()["write.target-file-size-bytes"]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return defaultTargetFileBytes
}

// partitionKey names a data file's partition by its spec's field names.
func partitionKey(md table.Metadata, df iceberg.DataFile) string {
	vals := df.Partition()
	if len(vals) == 0 {
		return ""
	}
	spec := md.PartitionSpecByID(int(df.SpecID()))
	var b strings.Builder
	if spec != nil {
		for _, f := range spec.Fields() {
			if b.Len() > 0 {
				b.WriteByte('/')
			}
			fmt.Fprintf(&b, "%s=%v", f.Name, partitionValue(vals[f.FieldID]))
		}
		return b.String()
	}
	ids := make([]int, 0, len(vals))
	for id := range vals {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		fmt.Fprintf(&b, "%d=%v", id, partitionValue(vals[id]))
	}
	return b.String()
}

func partitionValue(v any) any {
	if v == nil {
		return "null"
	}
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	return v
}

// DataFile is one row of the data files page.
type DataFile struct {
	Path      string `json:"path"`
	Content   string `json:"content"` // data, position-deletes, equality-deletes
	Partition string `json:"partition"`
	Rows      int64  `json:"rows"`
	Bytes     int64  `json:"bytes"`
	Format    string `json:"format"`
}

// FilePage is a page of a snapshot's live files.
type FilePage struct {
	Files         []DataFile `json:"files"`
	NextPageToken string     `json:"next-page-token,omitempty"`
}

// filePage lists up to size live files of snap from token on. The token is
// "<manifest index>.<entry index>"; anything else is refused.
func filePage(md table.Metadata, snap *table.Snapshot, fio icebergio.IO, token string, size int) (*FilePage, error) {
	mi, ei := 0, 0
	if token != "" {
		a, b, ok := strings.Cut(token, ".")
		var err1, err2 error
		mi, err1 = strconv.Atoi(a)
		ei, err2 = strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || mi < 0 || ei < 0 {
			return nil, ice.Errorf(ice.EINVALID, "pageToken %q is not a token this endpoint gave", token)
		}
	}
	manifests, err := snap.Manifests(fio)
	if err != nil {
		return nil, fmt.Errorf("read manifest list of snapshot %d: %w", snap.SnapshotID, err)
	}
	page := &FilePage{Files: []DataFile{}}
	for ; mi < len(manifests); mi, ei = mi+1, 0 {
		entries, err := manifests[mi].FetchEntries(fio, true)
		if err != nil {
			return nil, fmt.Errorf("read manifest %s: %w", manifests[mi].FilePath(), err)
		}
		for ; ei < len(entries); ei++ {
			if len(page.Files) == size {
				page.NextPageToken = fmt.Sprintf("%d.%d", mi, ei)
				return page, nil
			}
			df := entries[ei].DataFile()
			page.Files = append(page.Files, DataFile{Path: df.FilePath(), Content: contentName(df.ContentType()),
				Partition: partitionKey(md, df), Rows: df.Count(), Bytes: df.FileSizeBytes(), Format: string(df.FileFormat())})
		}
	}
	return page, nil
}

func contentName(c iceberg.ManifestEntryContent) string {
	switch c {
	case iceberg.EntryContentData:
		return "data"
	case iceberg.EntryContentPosDeletes:
		return "position-deletes"
	case iceberg.EntryContentEqDeletes:
		return "equality-deletes"
	}
	return strconv.Itoa(int(c))
}

// statsCache keeps the stats of the last few snapshots asked for. A
// snapshot's files never change, so an entry cannot go stale; the key
// includes the table's location so that two tables never share one.
type statsCache struct {
	mu    sync.Mutex
	order []string
	m     map[string]*FileStats
}

const statsCacheEntries = 32

func (c *statsCache) get(key string) (*FileStats, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.m[key]
	return st, ok
}

func (c *statsCache) put(key string, st *FileStats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*FileStats{}
	}
	if _, ok := c.m[key]; ok {
		return
	}
	if len(c.order) >= statsCacheEntries {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.order = append(c.order, key)
	c.m[key] = st
}

// Advice is one line of a table's health summary.
type Advice struct {
	Level   string `json:"level"` // ok, info, warn
	Message string `json:"message"`
}

// advise reads a table's health from its metadata and its current
// snapshot's file stats (nil for a table with no snapshot).
func advise(md table.Metadata, st *FileStats) []Advice {
	var out []Advice
	if st == nil {
		return []Advice{{"info", "The table has no snapshot yet: no data files."}}
	}
	if st.SmallFiles > 1 {
		into := int64(math.Ceil(float64(st.SmallBytes) / float64(st.TargetFileBytes)))
		if into < 1 {
			into = 1
		}
		if into < st.SmallFiles {
			out = append(out, Advice{"warn", fmt.Sprintf("%s files under %s: compaction would merge them into %s.",
				comma(st.SmallFiles), humanBytes(st.SmallFileBytes), comma(into))})
		}
	}
	if st.Manifests >= 10 && int64(st.Manifests)*10 > st.DataFiles {
		out = append(out, Advice{"warn", fmt.Sprintf("%s manifests for %s data files: rewriting manifests would make planning faster.",
			comma(int64(st.Manifests)), comma(st.DataFiles))})
	}
	if st.DeleteFiles > 0 {
		out = append(out, Advice{"info", fmt.Sprintf("%s delete files (%s): compaction would apply them to the data files.",
			comma(st.DeleteFiles), humanBytes(st.DeleteBytes))})
	}
	if n := len(md.Snapshots()); n > 1000 {
		out = append(out, Advice{"warn", fmt.Sprintf("%s snapshots: expiring old snapshots would shrink the metadata file.", comma(int64(n)))})
	}
	n := 0
	for range md.PreviousFiles() {
		n++
	}
	if n > 100 {
		out = append(out, Advice{"info", fmt.Sprintf("%s metadata files in the log: set write.metadata.delete-after-commit.enabled or run maintenance.", comma(int64(n)))})
	}
	if len(out) == 0 {
		out = append(out, Advice{"ok", "No problem found: file sizes, manifests and history look healthy."})
	}
	return out
}

// comma writes n with thousands separators: 1,240.
func comma(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func humanBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if f == math.Trunc(f) {
		return fmt.Sprintf("%.0f %s", f, units[i])
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

// snapshotOf picks the snapshot a request names (?snapshot-id=), else the
// current one; nil when the table has none.
func snapshotOf(md table.Metadata, idParam string) (*table.Snapshot, error) {
	if idParam == "" {
		return md.CurrentSnapshot(), nil
	}
	id, err := strconv.ParseInt(idParam, 10, 64)
	if err != nil {
		return nil, ice.Errorf(ice.EINVALID, "snapshot-id %q is not a number", idParam)
	}
	s := md.SnapshotByID(id)
	if s == nil {
		return nil, ice.Errorf(ice.ENOTFOUND, "the table has no snapshot %d", id)
	}
	return s, nil
}
