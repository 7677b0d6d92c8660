package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
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

	// The Java tool's v0.19 options; docs/cli.md says what each does.
	noCommit        bool
	forceDuplicates bool
	naming          string // DEFAULT or PRESERVE_ORIGINAL
	assumeSorted    bool
	retryList       string
	retryExitCode   int
	s3CopyObject    bool
	s3CopyThreads   int
	watch           watchArgs
	s3              s3InputArgs
	compression     string
	commitRetries   int
	commitBudgetMs  int64
}

// Data file naming strategies (--data-file-naming-strategy).
const (
	namingDefault  = "DEFAULT"
	namingOriginal = "PRESERVE_ORIGINAL"
)

func (a *insertArgs) check() error {
	if err := a.s3.check(); err != nil {
		return err
	}
	if err := a.watch.check(a); err != nil {
		return err
	}
	switch strings.ToUpper(a.naming) {
	case namingDefault, namingOriginal:
		a.naming = strings.ToUpper(a.naming)
	default:
		return usagef("--data-file-naming-strategy %q: want DEFAULT or PRESERVE_ORIGINAL", a.naming)
	}
	if _, ok := compressionCodecs[strings.ToLower(a.compression)]; a.compression != "" && !ok && !strings.EqualFold(a.compression, "as-source") {
		return usagef("--compression %q: want gzip, zstd, snappy, lz4, brotli, uncompressed or as-source", a.compression)
	}
	switch {
	case a.commitRetries < 0 || a.commitBudgetMs < 0:
		return usagef("--commit-retries and --commit-retry-total-ms must not be negative")
	case a.skipDuplicates && a.forceDuplicates:
		return usagef("--skip-duplicates and --force-duplicates are mutually exclusive")
	case a.forceDuplicates && (a.noCopy || a.forceNoCopy):
		return usagef("--force-duplicates needs a copy: with --no-copy the table would list one file twice, which Iceberg writers refuse")
	case a.s3CopyObject && (a.noCopy || a.forceNoCopy):
		return usagef("--s3-copy-object and --no-copy are mutually exclusive")
	case a.s3CopyObject && a.s3.noSign:
		return usagef("--s3-no-sign-request and --s3-copy-object cannot go together: S3 does not copy objects for anonymous requests")
	case a.s3CopyThreads < 1:
		return usagef("--s3-multipart-upload-thread-count must be at least 1")
	}
	return nil
}

// The waits between the attempts of a commit that conflicts with another
// writer grow from commitMinWait to commitMaxWait, with jitter so racing
// writers spread out; --commit-retries and --commit-retry-total-ms bound
// them.
const (
	commitMinWait = 50 * time.Millisecond
	commitMaxWait = 2 * time.Second
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
	fs.BoolVar(&a.noCommit, "no-commit", false, "write the data files but do not commit them to the table")
	fs.BoolVar(&a.forceDuplicates, "force-duplicates", false, "insert files the table already references again (their rows then appear twice)")
	fs.StringVar(&a.naming, "data-file-naming-strategy", namingDefault, "name of the copies: DEFAULT (<hash>-<name>) or PRESERVE_ORIGINAL (<name>)")
	fs.BoolVar(&a.assumeSorted, "assume-sorted", false, "do not check or sort the rows by the table's sort order; take the files as sorted")
	fs.StringVar(&a.retryList, "retry-list", "", "on a file's failure, list it in `file` and insert the others (retry with: ice insert T - --retry-list=file < file)")
	fs.IntVar(&a.retryExitCode, "retry-list-exit-code", 0, "exit `code` when --retry-list lists failed files")
	fs.BoolVar(&a.s3CopyObject, "s3-copy-object", false, "copy s3:// inputs with S3 server-side copies instead of reading and writing them")
	fs.IntVar(&a.s3CopyThreads, "s3-multipart-upload-thread-count", 4, "parts copied in parallel by an --s3-copy-object multipart copy")
	fs.StringVar(&a.compression, "compression", "", "re-encode copies with this Parquet `codec`: gzip, zstd, snappy, lz4, brotli, uncompressed or as-source (default: copy the bytes)")
	fs.IntVar(&a.commitRetries, "commit-retries", 10, "commit again this many times after a conflict with another writer (0: never)")
	fs.Int64Var(&a.commitBudgetMs, "commit-retry-total-ms", 300000, "stop retrying a conflicting commit after this many `ms` in all")
	a.watch.register(fs)
	a.spec.register(fs)
	a.s3.register(fs)
	pos, err := r.parse(fs, args, 1, -1)
	if err != nil {
		return err
	}
	if err := a.check(); err != nil {
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
	in.s3Args = a.s3
	defer in.Close()
	if a.s3.vended {
		if err := in.useTableCredentials(ctx, ident); err != nil {
			return err
		}
	}
	if a.watch.queueURL != "" {
		// The file arguments are the patterns the watched events must match.
		return r.watchInsert(ctx, cat, &a, pos[0], ident, in, files)
	}
	srcs, err := in.resolve(ctx, files)
	if err != nil {
		return err
	}
	return r.insertSources(ctx, cat, a, pos[0], ident, in, srcs)
}

// insertSources inserts srcs into the table name (ident) in one commit,
// creating the table from the first file with -p: the body of insert, and
// of each batch of insert --watch.
func (r *run) insertSources(ctx context.Context, cat *rest.Catalog, a insertArgs, name string, ident table.Identifier, in *inputs, srcs []*source) error {
	tbl, err := cat.LoadTable(ctx, ident)
	switch {
	case errors.Is(err, catalog.ErrNoSuchTable) && a.create:
		if err := createNamespaceLevels(ctx, cat, catalog.NamespaceFromIdent(ident)); err != nil {
			return err
		}
		if tbl, err = r.createTable(ctx, cat, ident, srcs[0], a.spec, true); err != nil {
			return err
		}
	case errors.Is(err, catalog.ErrNoSuchTable) || errors.Is(err, catalog.ErrNoSuchNamespace):
		return fmt.Errorf("load table %s: %w (add -p to create it from the first file's schema: ice insert -p %s FILE...)", name, err, name)
	case err != nil:
		return fmt.Errorf("load table %s: %w", name, err)
	}
	if tbl, err = r.syncSpec(ctx, tbl, a.spec); err != nil {
		return err
	}
	ins := &inserter{r: r, args: a, name: name, in: in}
	return ins.run(ctx, cat, ident, tbl, srcs)
}

// createNamespaceLevels creates ns and each missing parent, as mkdir -p
// does: insert -p puts a table where it is told to, whatever exists.
func createNamespaceLevels(ctx context.Context, cat catalog.Catalog, ns table.Identifier) error {
	for i := 1; i <= len(ns); i++ {
		err := cat.CreateNamespace(ctx, ns[:i], nil)
		if err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
			return fmt.Errorf("create namespace %s: %w", strings.Join(ns[:i], "."), err)
		}
	}
	return nil
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
	in   *inputs

	mu      sync.Mutex
	written []writtenFile // files copied so far, removed if the insert fails
	// keepFiles is set when a commit failed in a way that leaves its
	// outcome unknown (the catalog may have applied it): the copies may
	// then be referenced and must stay.
	keepFiles bool
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

	if err := ins.checkNames(tbl, srcs); err != nil {
		return err
	}
	results := make([][]iceberg.DataFile, len(srcs))
	failed := make([]error, len(srcs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ins.args.threads)
	for i, src := range srcs {
		g.Go(func() error {
			dfs, err := ins.processFile(gctx, tbl, wfs, existing, src, prog)
			if fe := (*fileError)(nil); errors.As(err, &fe) && fe.uri == src.URI {
				// it names the file already
			} else if err != nil {
				err = fmt.Errorf("%s: %w", src.URI, err)
			}
			if err != nil && ins.args.retryList != "" && ctx.Err() == nil {
				// Java ice's --retry-list: note the file, drop what it
				// wrote, and go on with the others.
				ins.r.log.Error("file failed; listed for a retry", "file", src.URI, "err", err, "retryList", ins.args.retryList)
				ins.forget(wfs, src.URI)
				failed[i] = err
				return nil
			}
			if err != nil {
				return err
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
	switch {
	case len(all) == 0:
		ins.r.log.Info("nothing to insert: no file is left to add", "table", ins.name)
	case ins.args.noCommit:
		for _, df := range all {
			ins.r.log.Info("written, not committed", "file", df.FilePath(), "rows", df.Count())
		}
		ins.r.log.Warn("table commit skipped (--no-commit): the files above are not part of the table", "table", ins.name, "dataFiles", len(all))
	default:
		if err := ins.commit(ctx, cat, ident, tbl, all); err != nil {
			return err
		}
	}
	ins.keepFiles = true // committed (or kept on purpose with --no-commit)
	return ins.writeRetryList(srcs, failed)
}

// commit appends all data files in one snapshot. When another writer
// commits first, the catalog refuses ours (its base snapshot is stale);
// the table is then reloaded and the append rebuilt on the new head, a
// bounded number of times. iceberg-go retries by itself only when the
// table sets commit.retry.num-retries, which tables rarely do.
func (ins *inserter) commit(ctx context.Context, cat *rest.Catalog, ident table.Identifier, tbl *table.Table, files []iceberg.DataFile) error {
	props := iceberg.Properties{"ice.insert.files": fmt.Sprint(len(files))}
	wait := commitMinWait
	deadline := time.Now().Add(time.Duration(ins.args.commitBudgetMs) * time.Millisecond)
	for attempt := 1; ; attempt++ {
		txn := tbl.NewTransaction()
		if err := setDistributionMode(txn, tbl); err != nil {
			return fmt.Errorf("nothing was committed: %w", err)
		}
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
			ins.keepFiles = true
			return fmt.Errorf("commit outcome unknown, check the table (its copied files are kept): %w", err)
		}
		if attempt > ins.args.commitRetries || time.Now().After(deadline) {
			return fmt.Errorf("nothing was committed: still conflicting after %d attempt(s) (--commit-retries %d, --commit-retry-total-ms %d): %w",
				attempt, ins.args.commitRetries, ins.args.commitBudgetMs, err)
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

// setDistributionMode sets write.distribution-mode to range on a
// partitioned or sorted table that does not set it, in the insert's own
// commit, as Java ice does: engines that write to the table later then
// cluster their rows the same way.
func setDistributionMode(txn *table.Transaction, tbl *table.Table) error {
	spec := tbl.Spec()
	if _, ok := tbl.Properties()[distributionModeKey]; ok || (spec.NumFields() == 0 && tbl.SortOrder().IsUnsorted()) {
		return nil
	}
	return txn.SetProperties(iceberg.Properties{distributionModeKey: "range"})
}

const distributionModeKey = "write.distribution-mode"

// writeRetryList writes the inputs that failed, one a line, to
// --retry-list (through a temporary file renamed into place, so a reader
// never sees half a list). With no failure the list is empty. The command
// then ends with --retry-list-exit-code when a file failed.
func (ins *inserter) writeRetryList(srcs []*source, failed []error) error {
	if ins.args.retryList == "" {
		return nil
	}
	var b strings.Builder
	n := 0
	for i, err := range failed {
		if err != nil {
			b.WriteString(srcs[i].URI + "\n")
			n++
		}
	}
	tmp := ins.args.retryList + "~"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("--retry-list: %w", err)
	}
	if err := os.Rename(tmp, ins.args.retryList); err != nil {
		return fmt.Errorf("--retry-list: %w", err)
	}
	if n == 0 {
		return nil
	}
	return &exitError{code: ins.args.retryExitCode, err: fmt.Errorf("%d of %d file(s) failed to insert; they are listed in %s", n, len(srcs), ins.args.retryList)}
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
