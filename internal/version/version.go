// Package version describes the running binary from the build information
// the Go toolchain stamps into it: module version, VCS commit and Go version.
package version

import (
	"fmt"
	"runtime/debug"
)

// Info is what --version prints.
type Info struct {
	Version  string // the main module's version, "(devel)" for a plain go build
	Commit   string // vcs.revision, "unknown" without VCS stamping
	Time     string // vcs.time, may be empty
	Modified bool   // vcs.modified: the work tree had uncommitted changes
	Go       string
}

// Read returns the binary's build information.
func Read() Info {
	info := Info{Version: "(devel)", Commit: "unknown", Go: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	info.Go = bi.GoVersion
	if v := bi.Main.Version; v != "" {
		info.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String is the --version line of program.
func (i Info) String(program string) string {
	commit := i.Commit
	if i.Modified {
		commit += " (modified)"
	}
	if i.Time != "" {
		commit += " " + i.Time
	}
	return fmt.Sprintf("%s version %s, commit %s, %s", program, i.Version, commit, i.Go)
}
