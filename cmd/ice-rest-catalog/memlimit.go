package main

import (
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
)

// memoryLimitShare is the part of the container's limit given to the Go
// heap and runtime; the rest is for the binary's pages and the kernel.
const memoryLimitShare = 0.9

// applyMemoryLimit gives the Go runtime a soft memory limit below the
// container's when GOMEMLIMIT is not set, so the garbage collector works
// harder as memory runs short instead of the kernel killing the process
// (the metadata cache, parsing and answers are garbage-heavy; see
// docs/benchmarks.md). It returns the limit it set, 0 if none.
func applyMemoryLimit(getenv func(string) string, readFile func(string) ([]byte, error), log *slog.Logger) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return 0
	}
	// The container's limit, as seen from inside its cgroup namespace:
	// cgroup v2, then v1.
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := readFile(f)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		limit, err := strconv.ParseInt(s, 10, 64)
		if err != nil || limit <= 0 || limit >= 1<<60 { // "max", or v1's "unlimited"
			return 0
		}
		set := int64(float64(limit) * memoryLimitShare)
		debug.SetMemoryLimit(set)
		log.Info("Go memory limit set from the container's", "container", limit, "go", set, "file", f)
		return set
	}
	return 0
}
