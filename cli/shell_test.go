package cli_test

import (
	"strings"
	"testing"
)

// TestShell runs commands read from stdin with the shell's config: quoted
// arguments reach the command whole, a failed command does not end the
// shell, and "exit" does.
func TestShell(t *testing.T) {
	e := startFileCatalog(t)
	dir := t.TempDir()
	f := writeParquet(t, dir, "a b.parquet", rows(0, 3, day1, "eu"))
	script := strings.Join([]string{
		"# a comment",
		"create-namespace sh",
		`insert -p sh.t "` + f + `"`,
		`alter-table sh.t '[{"op":"set_tblproperty","key":"owner","value":"shell user"}]'`,
		"no-such-command",
		"shell",
		"describe sh.t --json",
		"exit",
		"delete-table sh.t",
	}, "\n") + "\n"
	r := runIce(t, []byte(script), "-c", e.Config, "shell")
	if r.Code != 0 {
		t.Fatalf("shell: exit %d: %s", r.Code, r.Stderr)
	}
	if !strings.Contains(r.Stderr, `unknown command "no-such-command"`) || !strings.Contains(r.Stderr, "already in the shell") {
		t.Fatalf("stderr: %s", r.Stderr)
	}
	var d describedTable
	decodeJSON(t, r.Stdout, &d)
	if d.Properties["owner"] != "shell user" || d.CurrentSnapshot == nil {
		t.Fatalf("described table: %+v", d)
	}
	// The line after exit did not run: the table is still there.
	if ids := e.scanIDs(t, "sh.t"); len(ids) != 3 {
		t.Fatalf("rows = %v", ids)
	}
	if r := runIce(t, []byte("describe 'unterminated\n"), "-c", e.Config, "shell"); r.Code != 0 || !strings.Contains(r.Stderr, "unterminated ' quote") {
		t.Fatalf("unterminated quote: exit %d: %s", r.Code, r.Stderr)
	}
}
