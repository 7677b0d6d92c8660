package testenv

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// EnvChdbDir lists the installed chDB packages (colon-separated directories
// chdb-<version>, newest first); it is what `eval "$(scripts/install-chdb.sh)"`
// (and so scripts/install-tools.sh) exports.
const EnvChdbDir = "ICE_CHDB_DIR"

// chdbDriver runs SQL through chDB's session API; see its header.
//
//go:embed chdb/driver.js
var chdbDriver []byte

// ClickHouse is one installed chDB: ClickHouse as a library, driven by Node.
// Each Run starts one Node process with one ClickHouse engine, so a test
// groups its statements into few Runs (an engine costs about a second of
// CPU to start).
type ClickHouse struct {
	Package string // the npm package directory (…/node_modules/chdb)
	Chdb    string // the chdb npm version, e.g. 3.4.0
	node    string
	driver  string
}

// chdbDirs lists the chdb-<version> directories to look in: ICE_CHDB_DIR,
// else every chdb-* in the default cache of scripts/install-chdb.sh.
func chdbDirs() []string {
	if v := os.Getenv(EnvChdbDir); v != "" {
		return filepath.SplitList(v)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil
	}
	dirs, _ := filepath.Glob(filepath.Join(home, ".cache", "ice-rest-catalog", "chdb-*"))
	// Newest first, like the script's export.
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	return dirs
}

// ClickHouses returns every installed chDB, newest first. With none (or no
// node), the test skips, or fails when ICE_REQUIRE_TOOLS=1.
func ClickHouses(t testing.TB) []*ClickHouse {
	t.Helper()
	var out []*ClickHouse
	node, nodeErr := exec.LookPath("node")
	dirs := chdbDirs()
	if nodeErr == nil {
		driver := filepath.Join(t.TempDir(), "driver.js")
		if err := os.WriteFile(driver, chdbDriver, 0o644); err != nil {
			t.Fatalf("testenv: write chdb driver: %v", err)
		}
		for _, dir := range dirs {
			pkg := filepath.Join(dir, "node_modules", "chdb")
			if _, err := os.Stat(filepath.Join(dir, ".installed")); err != nil {
				continue
			}
			out = append(out, &ClickHouse{Package: pkg, Chdb: strings.TrimPrefix(filepath.Base(dir), "chdb-"), node: node, driver: driver})
		}
	}
	if len(out) == 0 {
		msg := fmt.Sprintf("testenv: no chDB (ClickHouse) installed in %v (node: %v); run scripts/install-chdb.sh", dirs, nodeErr)
		if os.Getenv(EnvRequireTools) == "1" {
			t.Fatal(msg + " (" + EnvRequireTools + "=1 makes this a failure)")
		}
		t.Skip(msg)
	}
	return out
}

// NewestClickHouse returns the newest installed chDB (see ClickHouses).
func NewestClickHouse(t testing.TB) *ClickHouse {
	t.Helper()
	return ClickHouses(t)[0]
}

// Step is one SQL statement for ClickHouse. Consecutive steps with Parallel
// run at the same time.
type Step struct {
	SQL      string `json:"sql"`
	Parallel bool   `json:"parallel,omitempty"`
}

// Result is the outcome of one Step: rows as JSON objects (JSONEachRow), or
// ClickHouse's error message.
type Result struct {
	OK    bool             `json:"ok"`
	Rows  []map[string]any `json:"rows"`
	Error string           `json:"error"`
}

// Session is a ClickHouse session directory: databases created in one Run
// (e.g. a DataLakeCatalog database) are still there in the next Run on the
// same Session.
type Session struct {
	CH   *ClickHouse
	Path string
}

// NewSession returns a session in a fresh directory under t.TempDir().
func (c *ClickHouse) NewSession(t testing.TB) *Session {
	t.Helper()
	return &Session{CH: c, Path: filepath.Join(t.TempDir(), "chdb-session")}
}

// Run executes steps in order in one ClickHouse engine and returns the
// version ClickHouse reports and one Result per step. A failure of the engine
// itself (not of a statement) fails the test.
func (s *Session) Run(t testing.TB, steps ...Step) (version string, results []Result) {
	t.Helper()
	req, err := json.Marshal(map[string]any{"path": s.Path, "steps": steps})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.CH.node, s.CH.driver, s.CH.Package)
	cmd.Stdin = bytes.NewReader(req)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chdb %s: %v\nstderr: %s", s.CH.Chdb, err, tail(stderr.String(), 4000))
	}
	var out struct {
		Version string   `json:"version"`
		Results []Result `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("chdb %s: decode answer: %v\n%s", s.CH.Chdb, err, tail(stdout.String(), 4000))
	}
	if len(out.Results) != len(steps) {
		t.Fatalf("chdb %s: %d results for %d steps", s.CH.Chdb, len(out.Results), len(steps))
	}
	return out.Version, out.Results
}

// MustRun is Run for statements that must all succeed; it returns their rows.
func (s *Session) MustRun(t testing.TB, sqls ...string) [][]map[string]any {
	t.Helper()
	steps := make([]Step, len(sqls))
	for i, q := range sqls {
		steps[i] = Step{SQL: q}
	}
	_, res := s.Run(t, steps...)
	rows := make([][]map[string]any, len(res))
	for i, r := range res {
		if !r.OK {
			t.Fatalf("ClickHouse (chdb %s): %s\n-> %s", s.CH.Chdb, sqls[i], r.Error)
		}
		rows[i] = r.Rows
	}
	return rows
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
