package main_test

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ice-rest-catalog/ice/internal/version"
)

func run(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), errb.String(), exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

// TestArguments runs the built ice binary: --help lists every command and
// global flag, --version names version, commit and Go, and an unknown
// command or flag exits 2 with the usage.
func TestArguments(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ice")
	if out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	_, help, code := run(t, bin, "--help")
	if code != 0 {
		t.Errorf("--help: exit %d", code)
	}
	for _, want := range []string{"check", "describe", "list-namespaces", "list-tables", "files", "list-snapshots", "list-partitions",
		"describe-parquet", "describe-metadata", "create-namespace", "delete-namespace", "create-table", "alter-table",
		"delete-table ns.table [--purge] [-p]", "insert", "scan", "delete", "catalog-export", "catalog-import", "version",
		"-c path", "-config", "-log-level", "-insecure", "-ssl-no-verify", "-version"} {
		if !strings.Contains(help, want) {
			t.Errorf("--help does not list %q", want)
		}
	}
	commit := version.ExpectedCommit(".")
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out, _, code := run(t, bin, args...)
		if code != 0 || !strings.HasPrefix(out, "ice version ") || !strings.Contains(out, "commit "+commit) || !strings.Contains(out, runtime.Version()) {
			t.Errorf("%q: exit %d %q; want commit %s and %s", args, code, out, commit, runtime.Version())
		}
	}
	for _, args := range [][]string{{"bogus"}, {"--bogus", "check"}, {"list-tables"}} {
		if _, stderr, code := run(t, bin, args...); code != 2 || !strings.Contains(stderr, "usage: ice") {
			t.Errorf("%q: exit %d, want 2 with usage:\n%s", args, code, stderr)
		}
	}
}
