package cli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// shellWords splits a command line as sh would for the README's snippets:
// words separated by blanks, single and double quotes grouping (no
// escapes or expansions are needed there).
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unbalanced quote in %q", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestREADMECLISnippet runs the README's `ice` section as written: local
// files by a glob with a day partition, then S3 files by a wildcard, then
// scan and files, against a catalog on versitygw.
func TestREADMECLISnippet(t *testing.T) {
	e := startS3Catalog(t)
	e.S3.CreateBucket(t, "landing")
	dir := t.TempDir()
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	writeParquet(t, dir, "orders-1.parquet", rows(0, 10, day, "eu"))
	writeParquet(t, dir, "orders-2.parquet", rows(10, 10, day.AddDate(0, 0, 1), "us"))
	e.put(t, "landing", "orders/2025-03-03/a.parquet", parquetBytes(t, rows(20, 5, day.AddDate(0, 0, 2), "eu")))
	e.put(t, "landing", "orders/2025-03-04/b.parquet", parquetBytes(t, rows(25, 5, day.AddDate(0, 0, 3), "eu")))
	e.put(t, "landing", "orders/2025-04-01/c.parquet", parquetBytes(t, rows(90, 5, day.AddDate(0, 1, 0), "eu")))
	t.Chdir(dir) // orders-*.parquet is relative

	block := testenv.DocBlock(t, testenv.RepoFile(t, "README.md"), "sh", "./ice create-namespace sales")
	var out string
	n := 0
	for _, line := range strings.Split(block, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "./ice ")
		if !ok {
			continue
		}
		n++
		out = e.ok(t, shellWords(t, rest)...)
	}
	if n != 5 {
		t.Fatalf("the README's ice section has %d ./ice commands; this test expects create-namespace, two inserts, scan, files", n)
	}
	if got := e.scanIDs(t, "sales.orders"); len(got) != 30 {
		t.Errorf("sales.orders has %d rows, want 20 local + 10 from the March S3 wildcard: %v", len(got), got)
	}
	if !strings.Contains(out, "ts_day=") && !strings.Contains(out, "2025-03") {
		t.Errorf("ice files does not show the day partitions:\n%s", out)
	}
}
