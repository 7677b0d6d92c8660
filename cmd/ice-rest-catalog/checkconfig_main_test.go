package main_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfigExitCode runs the subcommand through the binary: a bad
// config exits with status 1 and names the problem with its line on
// stderr; a good one exits with 0.
func TestCheckConfigExitCode(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(bad, []byte("warehouse: s3://lake/w\nuri: etcd:http://e:2379\nwarehuose: x\n"), 0o600)
	os.WriteFile(good, []byte("warehouse: s3://lake/w\nuri: etcd:http://e:2379\nbearerTokens: [{name: w, value: secret}]\n"), 0o600)

	out, err := exec.Command(bin, "check-config", bad).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("check-config on a bad file: %v, want exit status 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "line 3: field warehuose is not a known config key") {
		t.Errorf("check-config output does not name the key and line:\n%s", out)
	}
	if out, err := exec.Command(bin, "check-config", good).CombinedOutput(); err != nil || !strings.Contains(string(out), "OK") {
		t.Errorf("check-config on a good file: %v\n%s", err, out)
	}
}
