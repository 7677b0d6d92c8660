package main_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ice-rest-catalog/ice/internal/version"
)

// runBin runs the binary in an empty directory with no config in the
// environment and returns stdout, stderr and the exit status.
func runBin(t *testing.T, bin, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ICE_REST_CATALOG_CONFIG=", "ICE_REST_CATALOG_CONFIG_YAML=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestUnknownArgumentsAreUsageErrors: a forgotten -c, a misspelt command or
// an unknown flag used to start the wide-open embedded default; now each
// exits 2 with the usage and starts nothing (no ./data appears).
func TestUnknownArgumentsAreUsageErrors(t *testing.T) {
	bin := build(t)
	for _, args := range [][]string{
		{"good.yaml"},
		{"chek-config", "good.yaml"},
		{"--bogus"},
		{"-c", "x.yaml", "extra"},
		{"--log-level", "loud"},
		{"backup", "--bogus"},
		{"backup"},
		{"perform-maintenance", "extra"},
		{"check-config"},
		{"hash-secret", "secret"},
	} {
		dir := t.TempDir()
		_, stderr, code := runBin(t, bin, dir, args...)
		if code != 2 || !strings.Contains(stderr, "usage: ice-rest-catalog") {
			t.Errorf("%q: exit %d, want 2 with the usage; stderr:\n%s", args, code, stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
			t.Errorf("%q created ./data: it started a server", args)
		}
	}
}

func TestHelpListsEveryCommandAndFlag(t *testing.T) {
	bin := build(t)
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		out, _, code := runBin(t, bin, t.TempDir(), args...)
		if code != 0 {
			t.Errorf("%q: exit %d", args, code)
		}
		for _, want := range []string{"check-config FILE", "demo", "backup --out FILE", "perform-maintenance", "hash-secret",
			"version", "-c FILE", "-config FILE", "-log-level LEVEL", "-version"} {
			if !strings.Contains(out, want) {
				t.Errorf("%q does not list %q:\n%s", args, want, out)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	bin := build(t)
	commit := version.ExpectedCommit(".")
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out, _, code := runBin(t, bin, t.TempDir(), args...)
		if code != 0 || !strings.HasPrefix(out, "ice-rest-catalog version ") ||
			!strings.Contains(out, "commit "+commit) || !strings.Contains(out, runtime.Version()) {
			t.Errorf("%q: exit %d, %q; want version, commit %s and %s", args, code, out, commit, runtime.Version())
		}
	}
}

// TestStartUpRefusesWhatCheckConfigRefuses: start-up and check-config run
// the same validation, so a config check-config refuses does not start, and
// both print the same problems.
func TestStartUpRefusesWhatCheckConfigRefuses(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	text := "warehouse: file://" + dir + "/w\nadress: x\nbearerTokens:\n  - {name: a, value: x}\n  - {name: a, value: y}\n  - {name: anonymous, value: z}\n"
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	_, checkErr, code := runBin(t, bin, dir, "check-config", cfg)
	if code != 1 {
		t.Fatalf("check-config: exit %d\n%s", code, checkErr)
	}
	_, startErr, code := runBin(t, bin, dir, "-c", cfg)
	if code != 1 {
		t.Fatalf("start-up: exit %d\n%s", code, startErr)
	}
	for _, want := range []string{"line 2: field adress is not a known config key", `line 5: bearerTokens[1]: another token has the name "a"`,
		`line 6: bearerTokens[2]: the name "anonymous" is reserved`} {
		if !strings.Contains(checkErr, want) || !strings.Contains(startErr, want) {
			t.Errorf("%q missing:\ncheck-config:\n%s\nstart-up:\n%s", want, checkErr, startErr)
		}
	}
	os.WriteFile(cfg, []byte("warehouse: file://"+dir+"/w\n"), 0o600)
	for _, args := range [][]string{{"check-config", cfg}, {"-c", cfg}} {
		if _, stderr, code := runBin(t, bin, dir, args...); code != 1 || !strings.Contains(stderr, "no client could use the catalog") {
			t.Errorf("%q on a config with no way in: exit %d\n%s", args, code, stderr)
		}
	}
}
