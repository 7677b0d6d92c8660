package testenv

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// RepoFile reads a file of the repository by its path from the root, for
// tests that check the docs.
func RepoFile(t testing.TB, rel string) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// DocBlocks returns the fenced code blocks of a Markdown text whose info
// string is lang ("yaml", "sh", ...), in order, without the fences.
func DocBlocks(doc, lang string) []string {
	var out []string
	var cur *strings.Builder
	for _, line := range strings.SplitAfter(doc, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && trimmed == "```"+lang:
			cur = &strings.Builder{}
		case cur != nil && trimmed == "```":
			out = append(out, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line)
		}
	}
	return out
}

// DocBlock returns the one code block of lang in doc that contains marker;
// the test fails if there is not exactly one.
func DocBlock(t testing.TB, doc, lang, marker string) string {
	t.Helper()
	var found []string
	for _, b := range DocBlocks(doc, lang) {
		if strings.Contains(b, marker) {
			found = append(found, b)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d ```%s blocks contain %q, want 1", len(found), lang, marker)
	}
	return found[0]
}
