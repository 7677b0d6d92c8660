package main

import (
	"io"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"testing"
)

func TestApplyMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1)) // restore
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(name string) ([]byte, error) {
			if v, ok := m[name]; ok {
				return []byte(v), nil
			}
			return nil, os.ErrNotExist
		}
	}
	noEnv := func(string) string { return "" }
	for _, tc := range []struct {
		name  string
		env   func(string) string
		files map[string]string
		want  int64
	}{
		{"cgroup v2", noEnv, map[string]string{"/sys/fs/cgroup/memory.max": "268435456\n"}, 241591910},
		{"cgroup v1", noEnv, map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "134217728\n"}, 120795955},
		{"v2 unlimited", noEnv, map[string]string{"/sys/fs/cgroup/memory.max": "max\n"}, 0},
		{"v1 unlimited", noEnv, map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0},
		{"no cgroup", noEnv, nil, 0},
		{"GOMEMLIMIT wins", func(k string) string {
			if k == "GOMEMLIMIT" {
				return "64MiB"
			}
			return ""
		}, map[string]string{"/sys/fs/cgroup/memory.max": "268435456\n"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetMemoryLimit(math.MaxInt64)
			got := applyMemoryLimit(tc.env, files(tc.files), log)
			if got != tc.want {
				t.Fatalf("limit %d, want %d", got, tc.want)
			}
			now := debug.SetMemoryLimit(-1)
			if tc.want == 0 && now != math.MaxInt64 || tc.want != 0 && now != tc.want {
				t.Fatalf("runtime limit %d after setting %d", now, tc.want)
			}
		})
	}
}
