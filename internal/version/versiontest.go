package version

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ExpectedCommit is the commit a binary built from dir should report in
// --version: git's HEAD when dir is in a git clone whose .git is a
// directory (Go does not stamp VCS information in a git worktree, whose
// .git is a file), else "unknown". Tests of both binaries use it.
func ExpectedCommit(dir string) string {
	top, err := exec.Command("git", "-C", dir, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "unknown"
	}
	if st, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !st.IsDir() {
		return "unknown"
	}
	head, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(head))
}
