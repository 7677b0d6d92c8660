package main_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ice-rest-catalog/ice/cli"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// runReadmeQuickStart runs the README quick start's ./ice commands and its
// Go example against the demo catalog at url.
func runReadmeQuickStart(t *testing.T, url string) {
	t.Helper()
	readme := testenv.RepoFile(t, "README.md")
	block := testenv.DocBlock(t, readme, "sh", "./ice list-tables demo")
	n := 0
	for _, line := range strings.Split(block, "\n") {
		args, ok := strings.CutPrefix(strings.TrimSpace(line), "./ice ")
		if !ok {
			continue
		}
		n++
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var out, errb bytes.Buffer
		code := cli.Main(ctx, strings.Fields(args), cli.Env{Stdout: &out, Stderr: &errb,
			Getenv: func(k string) string {
				if k == "ICE_URI" {
					return url
				}
				return ""
			}})
		cancel()
		if code != 0 || out.Len() == 0 {
			t.Errorf("README: %s: exit %d, stdout %q\n%s", line, code, out.String(), errb.String())
		}
	}
	if n < 3 {
		t.Fatalf("found %d ./ice commands in the README's quick start", n)
	}

	// go run ./examples/demo-read, built once here and run with ICE_URI.
	if !strings.Contains(readme, "go run ./examples/demo-read") {
		t.Fatal("the README no longer runs examples/demo-read")
	}
	bin := filepath.Join(t.TempDir(), "demo-read")
	if out, err := exec.Command("go", "build", "-o", bin, "../../examples/demo-read").CombinedOutput(); err != nil {
		t.Fatalf("build examples/demo-read: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(cmd.Environ(), "ICE_URI="+url)
	out, err := cmd.CombinedOutput()
	// 3 appends of 200 rows; every third row of each is in region eu.
	if err != nil || !strings.Contains(string(out), "demo.orders: 600 rows in 3 snapshots; 201 rows with region = 'eu'") {
		t.Errorf("examples/demo-read: %v\n%s", err, out)
	}
}

// TestDocsListEachThingOnce: the README's documentation list names each
// page once, and docs/config.md's key table has one row per key.
func TestDocsListEachThingOnce(t *testing.T) {
	readme := testenv.RepoFile(t, "README.md")
	docs := readme[strings.Index(readme, "## Documentation"):]
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^- \[(docs/[^\]]+)\]`).FindAllStringSubmatch(docs, -1) {
		if seen[m[1]] {
			t.Errorf("README's documentation list names %s twice", m[1])
		}
		seen[m[1]] = true
	}
	if len(seen) < 5 {
		t.Fatalf("found only %v in the documentation list", seen)
	}
	keys := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(testenv.RepoFile(t, "docs/config.md"), -1) {
		if keys[m[1]] {
			t.Errorf("docs/config.md has two rows for %s", m[1])
		}
		keys[m[1]] = true
	}
	if !keys["bearerTokens[].accessConfig.readOnly"] || !keys["maintenanceSchedule"] {
		t.Fatalf("docs/config.md key table not found: %d keys", len(keys))
	}
}
