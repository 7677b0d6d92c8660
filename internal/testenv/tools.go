package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Environment variables that control where tools are found.
const (
	// EnvToolsBin names a directory holding the tool binaries; it is what
	// `eval "$(scripts/install-tools.sh)"` exports.
	EnvToolsBin = "ICE_TOOLS_BIN"
	// EnvToolsCache overrides the cache root used by scripts/install-tools.sh.
	EnvToolsCache = "ICE_TOOLS_CACHE"
	// EnvRequireTools, set to 1, turns a missing tool into a test failure
	// instead of a skip, so CI cannot pass by silently skipping.
	EnvRequireTools = "ICE_REQUIRE_TOOLS"
)

// toolDirs lists, in order of preference, the directories searched for tool
// binaries. The last two mirror the defaults of scripts/install-tools.sh.
func toolDirs() []string {
	var dirs []string
	if d := os.Getenv(EnvToolsBin); d != "" {
		dirs = append(dirs, d)
	}
	if d := os.Getenv(EnvToolsCache); d != "" {
		dirs = append(dirs, filepath.Join(d, "bin"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".cache", "ice-rest-catalog", "tools", "bin"))
	}
	return dirs
}

// ToolPath returns the path of the tool binary name (etcd, etcdctl, etcdutl,
// versitygw or minio). A missing tool skips the test, telling how to install it,
// unless ICE_REQUIRE_TOOLS=1, in which case the test fails.
func ToolPath(t testing.TB, name string) string {
	t.Helper()
	dirs := toolDirs()
	for _, dir := range dirs {
		path := filepath.Join(dir, name)
		// Stat follows the cache's symlinks to the versioned binary.
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return path
		}
	}
	msg := "testenv: tool " + name + " not found in [" + strings.Join(dirs, ", ") +
		"]; run scripts/install-tools.sh"
	if os.Getenv(EnvRequireTools) == "1" {
		t.Fatal(msg + " (" + EnvRequireTools + "=1 makes this a failure)")
	}
	t.Skip(msg)
	return ""
}
