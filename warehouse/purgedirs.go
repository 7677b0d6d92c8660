package warehouse

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// removeEmptyDirs removes the directories of a file:// table that purging
// its files left empty: for each deleted file, its directory and those
// above it, deepest first, up to and including the table's location and
// never above it. os.Remove refuses a directory that is not empty, so one
// that still holds anything (another table's files, a file the purge could
// not delete) stays. S3 has no directories; other schemes are left alone.
func (w *Warehouse) removeEmptyDirs(ctx context.Context, tableLocation string, files []string) {
	objs, root, err := w.resolve(ctx, tableLocation)
	if _, local := objs.(dirObjects); err != nil || !local {
		return
	}
	root = filepath.Clean(root)
	dirs := map[string]bool{}
	for _, f := range files {
		o, p, err := w.resolve(ctx, f)
		if _, local := o.(dirObjects); err != nil || !local {
			continue
		}
		for d := filepath.Dir(filepath.Clean(p)); inside(root, d); d = filepath.Dir(d) {
			dirs[d] = true
			if d == root {
				break
			}
		}
	}
	ordered := make([]string, 0, len(dirs))
	for d := range dirs {
		ordered = append(ordered, d)
	}
	// A directory's path is longer than its parent's, so longest first
	// empties children before their parents.
	sort.Slice(ordered, func(i, j int) bool { return len(ordered[i]) > len(ordered[j]) })
	for _, d := range ordered {
		_ = os.Remove(d) // fails, harmlessly, on a directory that is not empty
	}
}

// inside reports whether dir is root or below it.
func inside(root, dir string) bool {
	rel, err := filepath.Rel(root, dir)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
