package cli

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"
)

type insertArgs struct {
	create         bool
	filesFrom      string
	noCopy         bool
	forceNoCopy    bool
	skipDuplicates bool
	threads        int
	spec           tableSpecArgs
}

// commitAttempts bounds the reload-and-retry loop around a commit that
// conflicts with another writer; the waits between attempts grow from
// commitMinWait to commitMaxWait, with jitter so racing writers spread out.
const (
	commitAttempts = 10
	commitMinWait  = 50 * time.Millisecond
	commitMaxWait  = 2 * time.Second
)

func cmdInsert(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("insert", flag.ContinueOnError)
	var a insertArgs
	fs.BoolVar(&a.create, "p", false, "create the table from the first file's schema if it does not exist")
	fs.BoolVar(&a.create, "create-table", false, "same as -p")
	fs.StringVar(&a.filesFrom, "files-from", "", "read the input files from `file`, one per line (- for stdin)")
	fs.BoolVar(&a.noCopy, "no-copy", false, "add the files where they are instead of copying them into the table's data location")
	fs.BoolVar(&a.forceNoCopy, "force-no-copy", false, "--no-copy even for files outside the table's storage")
	fs.BoolVar(&a.skipDuplicates, "skip-duplicates", false, "skip files the table already references")
	fs.IntVar(&a.threads, "thread-count", 0, "files processed in parallel (default: max(4, CPUs))")
	a.spec.register(fs)
	pos, err := r.parse(fs, args, 1, -1)
	if err != nil {
		return err
	}
	files := pos[1:]
	if a.filesFrom != "" {
		if len(files) > 0 {
			return usagef("FILE arguments and --files-from are mutually exclusive")
		}
		if files, err = readLines(a.filesFrom, r.env.Stdin); err != nil {
			return err
		}
	} else if len(files) == 1 && files[0] == "-" {
		if files, err = readLines("-", r.env.Stdin); err != nil {
			return err
		}
	}
	if len(files) == 0 {
		return usagef("at least one FILE or --files-from is required")
	}
	a.noCopy = a.noCopy || a.forceNoCopy
	if a.threads <= 0 {
		a.threads = max(4, runtime.NumCPU())
	}
	ident, err := tableIdent(pos[0])
	if err != nil {
		return err
	}
	cat, err := r.catalog(ctx)
	if err != nil {
		return err
	}
	in := r.newInputs()
	defer in.Close()
	srcs, err := in.resolve(ctx, files)
	if err != nil {
		return err
	}
	tbl, err := cat.LoadTable(ctx, ident)
	switch {
	case errors.Is(err, catalog.ErrNoSuchTable) && a.create:
		if tbl, err = r.createTable(ctx, cat, ident, srcs[0], a.spec, true); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("load table %s: %w", pos[0], err)
	}
	if tbl, err = r.syncSpec(ctx, tbl, a.spec); err != nil {
		return err
	}
	ins := &inserter{r: r, args: a, name: pos[0]}
	return ins.run(ctx, cat, ident, tbl, srcs)
}

func readLines(name string, stdin io.Reader) ([]string, error) {
	var rd io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("--files-from: %w", err)
		}
		defer f.Close()
		rd = f
	}
	var out []string
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--files-from %s: %w", name, err)
	}
	return out, nil
}

// syncSpec applies --partition and --sort to a table that has no data yet,
// as the Java tool does; a table with data must already have them.
func (r *run) syncSpec(ctx context.Context, tbl *table.Table, a tableSpecArgs) (*table.Table, error) {
	spec, err := parsePartition(a.partition, tbl.Schema())
	if err != nil {
		return nil, err
	}
	order, err := parseSort(a.sort, tbl.Schema())
	if err != nil {
		return nil, err
	}
	specChange := spec != nil && !sameSpec(*spec, tbl.Spec())
	sortChange := order != nil && !order.Equals(tbl.SortOrder())
	if !specChange && !sortChange {
		return tbl, nil
	}
	if tbl.CurrentSnapshot() != nil {
		return nil, errors.New("--partition/--sort differ from the table's, which has data; changing them is not supported")
	}
	txn := tbl.NewTransaction()
	if specChange {
		up := txn.UpdateSpec(true)
		cur := tbl.Spec()
		for _, f := range cur.Fields() {
			up.RemoveField(f.Name)
		}
		for _, f := range spec.Fields() {
			col, _ := tbl.Schema().FindColumnName(f.SourceID())
			up.AddField(col, f.Transform, f.Name)
		}
		if err := up.Commit(); err != nil {
			return nil, fmt.Errorf("update partition spec: %w", err)
		}
	}
	if sortChange {
		if err := txn.ReplaceSortOrder(*order); err != nil {
			return nil, fmt.Errorf("update sort order: %w", err)
		}
	}
	tbl, err = txn.Commit(ctx)
	if err != nil {
		return nil, fmt.Errorf("update partition spec / sort order: %w", err)
	}
	r.log.Info("updated the table's partition spec / sort order", "spec", tbl.Spec().String())
	return tbl, nil
}

func sameSpec(a, b iceberg.PartitionSpec) bool { //nolint:gocritic // specs are small values
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := 0; i < a.NumFields(); i++ {
		fa, fb := a.Field(i), b.Field(i)
		if fa.SourceID() != fb.SourceID() || fa.Transform.String() != fb.Transform.String() {
			return false
		}
	}
	return true
}

// inserter adds a set of input files to one table in one commit.
type inserter struct {
	r    *run
	args insertArgs
	name string

	mu      sync.Mutex
	written []string // files copied so far, removed if the insert fails
}

func (ins *inserter) run(ctx context.Context, cat *rest.Catalog, ident table.Identifier, tbl *table.Table, srcs []*source) (err error) {
	fsys, err := tbl.FS(ctx)
	if err != nil {
		return fmt.Errorf("table storage: %w", err)
	}
	wfs, ok := fsys.(icebergio.WriteFileIO)
	if !ok && !ins.args.noCopy {
		return fmt.Errorf("table storage at %s is not writable", tbl.Location())
	}
	existing, err := ins.existingFiles(ctx, tbl)
	if err != nil {
		return err
	}
	var total int64
	for _, s := range srcs {
		total += s.Size
	}
	prog := newProgress(ins.r.env.Stderr, ins.r.env.IsTerminal, len(srcs), total)
	defer prog.stop()
	defer func() {
		if err != nil {
			ins.cleanup(wfs)
		}
	}()

	results := make([][]iceberg.DataFile, len(srcs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ins.args.threads)
	for i, src := range srcs {
		g.Go(func() error {
			dfs, err := ins.processFile(gctx, tbl, wfs, existing, src, prog)
			if err != nil {
				return fmt.Errorf("%s: %w", src.URI, err)
			}
			results[i] = dfs
			prog.fileDone()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("nothing was committed: %w", err)
	}
	var all []iceberg.DataFile
	for _, dfs := range results {
		all = append(all, dfs...)
	}
	prog.stop()
	if len(all) == 0 {
		ins.r.log.Info("nothing to insert: every file is already in the table", "table", ins.name)
		return nil
	}
	return ins.commit(ctx, cat, ident, tbl, all)
}

// commit appends all data files in one snapshot. When another writer
// commits first, the catalog refuses ours (its base snapshot is stale);
// the table is then reloaded and the append rebuilt on the new head, a
// bounded number of times. iceberg-go retries by itself only when the
// table sets commit.retry.num-retries, which tables rarely do.
func (ins *inserter) commit(ctx context.Context, cat *rest.Catalog, ident table.Identifier, tbl *table.Table, files []iceberg.DataFile) error {
	props := iceberg.Properties{"ice.insert.files": fmt.Sprint(len(files))}
	wait := commitMinWait
	for attempt := 1; ; attempt++ {
		txn := tbl.NewTransaction()
		if err := txn.AddDataFiles(ctx, files, props); err != nil {
			return fmt.Errorf("nothing was committed: %w", err)
		}
		_, err := txn.Commit(ctx)
		if err == nil {
			var rows int64
			for _, f := range files {
				rows += f.Count()
			}
			ins.r.log.Info("inserted", "table", ins.name, "dataFiles", len(files), "rows", rows, "attempts", attempt)
			return nil
		}
		if !errors.Is(err, table.ErrCommitFailed) {
			return fmt.Errorf("commit: %w", err)
		}
		if attempt == commitAttempts {
			return fmt.Errorf("nothing was committed: still conflicting after %d attempts: %w", attempt, err)
		}
		ins.r.log.Info("commit conflict; retrying on the new table state", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("nothing was committed: %w", ctx.Err())
		case <-time.After(wait/2 + rand.N(wait/2+1)):
		}
		wait = min(2*wait, commitMaxWait)
		if tbl, err = cat.LoadTable(ctx, ident); err != nil {
			return fmt.Errorf("nothing was committed: reload table after a conflict: %w", err)
		}
	}
}

func (ins *inserter) existingFiles(ctx context.Context, tbl *table.Table) (map[string]bool, error) {
	tasks, err := dataFiles(ctx, tbl)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(tasks))
	for _, t := range tasks {
		out[t.File.FilePath()] = true
	}
	return out, nil
}

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
	} else if err := ins.checkInPlace(tbl, src); err != nil {
		return nil, err
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
	if wfs == nil {
		return
	}
	ins.mu.Lock()
	defer ins.mu.Unlock()
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
