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
func copyName(uri string) string {
	h := sha256.Sum256([]byte(uri))
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
		loc, err := tbl.LocationProvider()
		if err != nil {
			return nil, fmt.Errorf("table location: %w", err)
		}
		dest = loc.NewDataLocation(copyName(src.URI))
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
	// The footer is read from the source, whatever path the table records.
	srcIO := sourceIO{name: dest, file: &sourceFile{SectionReader: io.NewSectionReader(p.rc, 0, src.Size), rc: nopCloser{p.rc}, name: src.URI}}
	df, derr := table.FileToDataFile(ctx, srcIO, dest, tbl.Schema(), tbl.Spec(), 0, tbl.Properties())
	if derr != nil {
		if spec := tbl.Spec(); ins.args.noCopy || spec.NumFields() == 0 {
			return nil, fmt.Errorf("cannot add as is: %w", derr)
		}
		// The file spans several partitions (or a transform such as
		// bucket cannot be read from its stats): rewrite its rows into one
		// file per partition.
		ins.r.log.Debug("splitting file by partition", "file", src.URI, "reason", derr)
		return ins.split(ctx, tbl, existing, p, prog)
	}
	if !ins.args.noCopy {
		if err := ins.copy(ctx, wfs, p.rc, src.Size, dest, prog); err != nil {
			return nil, err
		}
	} else {
		prog.addBytes(src.Size)
	}
	return []iceberg.DataFile{df}, nil
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

func (ins *inserter) copy(ctx context.Context, wfs icebergio.WriteFileIO, src io.ReaderAt, size int64, dest string, prog *progress) error {
	w, err := wfs.Create(dest)
	if err != nil {
		return fmt.Errorf("create %s: %w", dest, err)
	}
	ins.mu.Lock()
	ins.written = append(ins.written, dest)
	ins.mu.Unlock()
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
func (ins *inserter) split(ctx context.Context, tbl *table.Table, existing map[string]bool, p *parquetFile, prog *progress) ([]iceberg.DataFile, error) {
	id := splitUUID(p.src.URI)
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
	rr, err := p.arrow.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("read rows: %w", err)
	}
	defer rr.Release()
	records := func(yield func(arrow.RecordBatch, error) bool) {
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
		ins.mu.Lock()
		ins.written = append(ins.written, df.FilePath())
		ins.mu.Unlock()
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
		if err := wfs.Remove(f); err != nil {
			ins.r.log.Warn("could not remove a file of the failed insert", "file", f, "err", err)
		}
	}
	ins.written = nil
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
