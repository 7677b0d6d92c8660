package cli

// The work on each input file of an insert: schema check, duplicate check,
// statistics, and the copy or the partitioned split.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// errDuplicate marks a file the table already has, skipped with
// --skip-duplicates.
var errDuplicate = errors.New("already in the table")

func (ins *inserter) duplicate(existing map[string]bool, dest string) error {
	if !existing[dest] {
		return nil
	}
	if ins.args.skipDuplicates {
		return errDuplicate
	}
	return fmt.Errorf("%s is already referenced by the table (use --skip-duplicates to skip it)", dest)
}

// copyName is the name a copied file gets in the table's data location:
// the source's base name behind a hash of its full URI, so that the same
// source always lands on the same path (which is how duplicates are found)
// and sources with equal base names do not collide.
func copyName(uri string) string { return hashedName(uri, uri) }

// hashedName is path.Base(uri) behind a hash of key.
func hashedName(key, uri string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:6]) + "-" + path.Base(uri)
}

// splitUUID names the files a partitioned split of a source produces; it
// is derived from the source URI for the same reason as copyName.
func splitUUID(uri string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceURL, []byte(uri)) }

func (ins *inserter) processFile(ctx context.Context, tbl *table.Table, wfs icebergio.WriteFileIO, existing map[string]bool, src *source, prog *progress) ([]iceberg.DataFile, error) {
	p, err := openParquet(ctx, src)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	if err := checkFileSchema(tbl.Schema(), p.schema); err != nil {
		return nil, err
	}
	dest := src.URI
	if !ins.args.noCopy {
		if dest, err = ins.destName(tbl, src, existing); err != nil {
			return nil, err
		}
	} else {
		if err := ins.checkInPlace(tbl, src); err != nil {
			return nil, err
		}
		if strings.HasPrefix(tbl.Location(), "file:") && strings.HasPrefix(dest, "/") {
			dest = "file://" + dest // as the table's own paths are written
		}
	}
	if err := ins.duplicate(existing, dest); err != nil {
		if errors.Is(err, errDuplicate) {
			ins.r.log.Info("skipping duplicate", "file", src.URI)
			prog.addBytes(src.Size)
			return nil, nil
		}
		return nil, err
	}
	// Rows go in the table's sort order: a file already in order is taken
	// as it is, any other is sorted (read whole, as Java ice does), or
	// refused where it cannot be rewritten.
	order := tbl.SortOrder()
	sortOrderID := table.UnsortedSortOrderID
	var rows arrow.RecordBatch // the file's rows (in order), when they were read
	resorted := false          // rows differ from the file's order
	defer func() {
		if rows != nil {
			rows.Release()
		}
	}()
	if !order.IsUnsorted() {
		sortOrderID = order.OrderID()
	}
	if !order.IsUnsorted() && !ins.args.assumeSorted {
		if rows, resorted, err = ins.sortedRows(ctx, tbl, p); err != nil {
			return nil, err
		}
	}
	// --compression re-encodes every copy, as Java ice's copies do.
	codec, recode := ins.codec(p)
	if recode && rows == nil {
		if rows, err = readAll(ctx, p); err != nil {
			return nil, err
		}
	}
	rewrite := resorted || recode
	// rewriteAll writes every row to one new file.
	rewriteAll := func() ([]iceberg.DataFile, error) {
		ins.r.log.Info("rewriting the file's rows", "file", src.URI, "to", dest, "sorted", resorted, "codec", codec)
		df, err := ins.writeRows(ctx, tbl, wfs, rows, dest, sortOrderID, src.URI, codec)
		if err != nil {
			return nil, err
		}
		prog.addBytes(src.Size)
		return []iceberg.DataFile{df}, nil
	}
	if spec := tbl.Spec(); rewrite && spec.NumFields() == 0 {
		return rewriteAll()
	}
	// The footer is read from the source, whatever path the table records.
	srcIO := sourceIO{name: dest, file: &sourceFile{SectionReader: io.NewSectionReader(p.rc, 0, src.Size), rc: nopCloser{p.rc}, name: src.URI}}
	df, derr := table.FileToDataFile(ctx, srcIO, dest, tbl.Schema(), tbl.Spec(), sortOrderID, tbl.Properties())
	if derr == nil && rewrite {
		// All rows are in one partition: one rewritten file.
		return rewriteAll()
	}
	if derr != nil {
		spec := tbl.Spec()
		if ins.args.noCopy || ins.args.s3CopyObject || spec.NumFields() == 0 {
			return nil, fmt.Errorf("cannot add as is: %w", derr)
		}
		if ins.args.naming == namingOriginal {
			return nil, errors.New("its rows must be split into several partitions, which --data-file-naming-strategy=PRESERVE_ORIGINAL cannot name")
		}
		// The file spans several partitions (or a transform such as
		// bucket cannot be read from its stats): rewrite its rows (in
		// order, when they were sorted) into one file per partition.
		ins.r.log.Debug("splitting file by partition", "file", src.URI, "reason", derr, "sorted", resorted)
		if rows == nil && !order.IsUnsorted() && !ins.args.assumeSorted {
			// In order already: one batch keeps that order in each
			// partition's file.
			if rows, err = readAll(ctx, p); err != nil {
				return nil, err
			}
		}
		return ins.split(ctx, tbl, existing, p, rows, prog)
	}
	switch {
	case ins.args.noCopy:
		prog.addBytes(src.Size)
	case ins.args.s3CopyObject:
		if err := ins.copyObject(ctx, src, dest, prog); err != nil {
			return nil, err
		}
	default:
		if err := ins.copy(ctx, wfs, p.rc, src.Size, dest, prog, src.URI); err != nil {
			return nil, err
		}
	}
	return []iceberg.DataFile{df}, nil
}

// sortedRows checks the file against the table's sort order. A file in
// order gives no rows (it is taken as it is); any other is read whole and
// its rows returned sorted, or refused where it cannot be rewritten
// (--no-copy, --s3-copy-object).
func (ins *inserter) sortedRows(ctx context.Context, tbl *table.Table, p *parquetFile) (rows arrow.RecordBatch, resorted bool, err error) {
	keys, err := sortKeys(tbl.SortOrder(), tbl.Schema())
	if err != nil {
		return nil, false, err
	}
	// The check streams the file; only a file out of order is read whole.
	at, err := unsortedStream(ctx, p, keys)
	if err != nil || at < 0 {
		return nil, false, err
	}
	if ins.args.noCopy || ins.args.s3CopyObject {
		return nil, false, fmt.Errorf("%w (row %d is out of order); --no-copy and --s3-copy-object cannot sort it (--assume-sorted takes it as it is)", errUnsorted, at)
	}
	ins.r.log.Warn("file not in the table's sort order; sorting it in memory", "file", p.src.URI, "firstOutOfOrderRow", at)
	rec, err := readAll(ctx, p)
	if err != nil {
		return nil, false, err
	}
	out, err := sortRecord(ctx, rec, keys)
	rec.Release()
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// destName is where a copied input goes in the table's data location:
//   - DEFAULT: <hash of the input's URI>-<name>, the same for the same
//     input, which is how a second insert of it is found; with
//     --force-duplicates, a referenced name gets a fresh unique part;
//   - PRESERVE_ORIGINAL: the input's own base name.
func (ins *inserter) destName(tbl *table.Table, src *source, existing map[string]bool) (string, error) {
	loc, err := tbl.LocationProvider()
	if err != nil {
		return "", fmt.Errorf("table location: %w", err)
	}
	if ins.args.naming == namingOriginal {
		dest := loc.NewDataLocation(path.Base(src.URI))
		if existing[dest] && ins.args.forceDuplicates {
			return "", fmt.Errorf("%s is already referenced by the table; --force-duplicates cannot add it again under its original name", dest)
		}
		return dest, nil
	}
	dest := loc.NewDataLocation(copyName(src.URI))
	if existing[dest] && ins.args.forceDuplicates {
		dest = loc.NewDataLocation(hashedName(src.URI+"#"+uuid.NewString(), src.URI))
		ins.r.log.Info("inserting a duplicate under a new name (--force-duplicates)", "file", src.URI, "to", dest)
	}
	return dest, nil
}

// checkNames refuses, before anything is written, inputs that
// PRESERVE_ORIGINAL would give the same name.
func (ins *inserter) checkNames(tbl *table.Table, srcs []*source) error {
	if ins.args.naming != namingOriginal || ins.args.noCopy {
		return nil
	}
	seen := map[string]string{}
	for _, s := range srcs {
		base := path.Base(s.URI)
		if !strings.HasSuffix(base, ".parquet") {
			return fmt.Errorf("%s: --data-file-naming-strategy=PRESERVE_ORIGINAL needs names ending in .parquet", s.URI)
		}
		if other, ok := seen[base]; ok {
			return fmt.Errorf("%s and %s would both be named %s in %s (PRESERVE_ORIGINAL)", other, s.URI, base, tbl.Location())
		}
		seen[base] = s.URI
	}
	return nil
}

// codec is the compression of rewritten files: --compression's (as-source:
// the input's first column chunk's), else zstd. recode is set when
// --compression asks to re-encode a copy.
func (ins *inserter) codec(p *parquetFile) (codec compress.Compression, recode bool) {
	c := strings.ToLower(ins.args.compression)
	if c == "" || ins.args.noCopy || ins.args.s3CopyObject {
		return compress.Codecs.Zstd, false
	}
	if c == "as-source" {
		codec = compress.Codecs.Zstd
		if md := p.pf.MetaData(); md.NumRowGroups() > 0 && md.RowGroup(0).NumColumns() > 0 {
			if cc, err := md.RowGroup(0).ColumnChunk(0); err == nil {
				codec = cc.Compression()
			}
		}
		if codec == compress.Codecs.Lz4 { // Hadoop LZ4, which arrow-go cannot write
			codec = compress.Codecs.Lz4Raw
		}
		return codec, true
	}
	return compressionCodecs[c], true
}

// compressionCodecs are --compression's values.
var compressionCodecs = map[string]compress.Compression{
	"gzip": compress.Codecs.Gzip, "zstd": compress.Codecs.Zstd, "snappy": compress.Codecs.Snappy,
	"lz4": compress.Codecs.Lz4Raw, "brotli": compress.Codecs.Brotli, "uncompressed": compress.Codecs.Uncompressed,
}

// writeRows writes rows as one Parquet file at dest and describes it.
func (ins *inserter) writeRows(ctx context.Context, tbl *table.Table, wfs icebergio.WriteFileIO, rows arrow.RecordBatch, dest string, sortOrderID int, srcURI string, codec compress.Compression) (iceberg.DataFile, error) {
	w, err := wfs.Create(dest)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", dest, err)
	}
	ins.record(dest, srcURI)
	props := parquet.NewWriterProperties(parquet.WithCompression(codec))
	pw, err := pqarrow.NewFileWriter(rows.Schema(), w, props, pqarrow.DefaultWriterProps())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("write %s: %w", dest, err)
	}
	if err := pw.Write(rows); err != nil {
		pw.Close()
		return nil, fmt.Errorf("write %s: %w", dest, err)
	}
	if err := pw.Close(); err != nil { // closes w too
		return nil, fmt.Errorf("write %s: %w", dest, err)
	}
	df, err := table.FileToDataFile(ctx, wfs, dest, tbl.Schema(), tbl.Spec(), sortOrderID, tbl.Properties())
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", dest, err)
	}
	return df, nil
}

// checkInPlace refuses --no-copy for a file the table's storage cannot
// reach: a local file for an s3:// table (or the other way round), or an
// object in another bucket, since table readers get access to the table's
// bucket only.
func (ins *inserter) checkInPlace(tbl *table.Table, src *source) error {
	if ins.args.forceNoCopy || strings.HasPrefix(src.URI, tbl.Location()) {
		return nil
	}
	if strings.HasPrefix(src.URI, "http") {
		return errors.New("an http(s) file cannot be added without a copy")
	}
	if storageRoot(src.URI) != storageRoot(tbl.Location()) {
		return fmt.Errorf("cannot be added without a copy: the table lives at %s (use --force-no-copy to add it anyway)", tbl.Location())
	}
	return nil
}

// storageRoot is "s3://bucket" for an object URI and "file" for a local path.
func storageRoot(uri string) string {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok || scheme == "file" {
		return "file"
	}
	bucket, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + bucket
}

func (ins *inserter) copy(ctx context.Context, wfs icebergio.WriteFileIO, src io.ReaderAt, size int64, dest string, prog *progress, srcURI string) error {
	w, err := wfs.Create(dest)
	if err != nil {
		return fmt.Errorf("create %s: %w", dest, err)
	}
	ins.record(dest, srcURI)
	rd := &countingReader{ctx: ctx, r: io.NewSectionReader(src, 0, size), prog: prog}
	if _, err := io.Copy(w, rd); err != nil {
		w.Close()
		return fmt.Errorf("copy to %s: %w", dest, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("copy to %s: %w", dest, err)
	}
	return nil
}

// split rewrites a file's rows into the table's data location with one
// file per partition, through iceberg-go's partitioned writer.
func (ins *inserter) split(ctx context.Context, tbl *table.Table, existing map[string]bool, p *parquetFile, rows arrow.RecordBatch, prog *progress) ([]iceberg.DataFile, error) {
	id := splitUUID(p.src.URI)
	if ins.args.forceDuplicates {
		id = uuid.New()
	}
	for f := range existing {
		if strings.Contains(f, id.String()) {
			if err := ins.duplicate(existing, f); err != nil {
				if errors.Is(err, errDuplicate) {
					prog.addBytes(p.src.Size)
					return nil, nil
				}
				return nil, err
			}
		}
	}
	var rr pqarrow.RecordReader
	if rows == nil {
		var err error
		if rr, err = p.arrow.GetRecordReader(ctx, nil, nil); err != nil {
			return nil, fmt.Errorf("read rows: %w", err)
		}
		defer rr.Release()
	}
	records := func(yield func(arrow.RecordBatch, error) bool) {
		if rows != nil {
			// One batch: the partitioned writer keeps its order within
			// each partition.
			rows.Retain()
			yield(rows, nil)
			return
		}
		for rr.Next() {
			rec := rr.RecordBatch()
			rec.Retain() // WriteRecords releases what it consumes
			if !yield(rec, nil) {
				return
			}
		}
		if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
			yield(nil, err)
		}
	}
	var out []iceberg.DataFile
	for df, err := range table.WriteRecords(ctx, tbl, p.schema, records, table.WithWriteUUID(id)) {
		if err != nil {
			return nil, fmt.Errorf("write partitioned files: %w", err)
		}
		ins.record(df.FilePath(), p.src.URI)
		out = append(out, df)
	}
	prog.addBytes(p.src.Size)
	return out, nil
}

// cleanup removes the files a failed insert wrote; nothing references
// them, since nothing was committed.
func (ins *inserter) cleanup(wfs icebergio.WriteFileIO) {
	ins.mu.Lock()
	defer ins.mu.Unlock()
	if wfs == nil || ins.keepFiles {
		return
	}
	for _, f := range ins.written {
		if err := wfs.Remove(f.path); err != nil {
			ins.r.log.Warn("could not remove a file of the failed insert", "file", f.path, "err", err)
		}
	}
	ins.written = nil
}

// writtenFile is a file an insert wrote, and the input it came from.
type writtenFile struct{ path, src string }

func (ins *inserter) record(path, src string) {
	ins.mu.Lock()
	defer ins.mu.Unlock()
	ins.written = append(ins.written, writtenFile{path, src})
}

// forget removes the files one failed input wrote (with --retry-list the
// others go on and are committed).
func (ins *inserter) forget(wfs icebergio.WriteFileIO, src string) {
	ins.mu.Lock()
	defer ins.mu.Unlock()
	kept := ins.written[:0]
	for _, f := range ins.written {
		if f.src != src {
			kept = append(kept, f)
			continue
		}
		if wfs != nil {
			if err := wfs.Remove(f.path); err != nil {
				ins.r.log.Warn("could not remove a file of a failed input", "file", f.path, "err", err)
			}
		}
	}
	ins.written = kept
}

type countingReader struct {
	ctx  context.Context
	r    io.Reader
	prog *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(b)
	c.prog.addBytes(int64(n))
	return n, err
}

// sourceIO serves one name from an already open source, so iceberg-go can
// compute a data file's statistics from the input before (or instead of)
// it is copied.
type sourceIO struct {
	name string
	file *sourceFile
}

func (s sourceIO) Open(name string) (icebergio.File, error) {
	if name != s.name {
		return nil, fmt.Errorf("unexpected open of %s", name)
	}
	s.file.SectionReader = io.NewSectionReader(s.file.SectionReader, 0, s.file.Size())
	return s.file, nil
}

func (s sourceIO) Remove(string) error { return errors.New("read-only") }

// nopCloser keeps iceberg-go from closing the source the caller owns.
type nopCloser struct{ io.ReaderAt }

func (nopCloser) Close() error { return nil }
