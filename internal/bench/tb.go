package bench

import (
	"fmt"
	"log/slog"
	"os"
	"testing"
)

// env adapts internal/testenv's helpers, written for tests, to a command:
// they take a testing.TB, and this one turns a fatal into a panic that Run
// recovers, keeps cleanups, and makes temporary directories under one root.
// The embedded interface is nil; testenv calls only the methods below
// (Helper, Fatal(f), Errorf, Failed, Cleanup, TempDir, Logf, Skip).
type env struct {
	testing.TB
	root     string
	cleanups []func()
	failed   bool
	log      *slog.Logger
}

// fatal is the panic value of env's Fatal.
type fatal struct{ msg string }

func newEnv(log *slog.Logger) (*env, error) {
	dir, err := os.MkdirTemp("", "ice-bench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	return &env{root: dir, log: log}, nil
}

func (e *env) Helper()                           {}
func (e *env) Name() string                      { return "ice-bench" }
func (e *env) Failed() bool                      { return e.failed }
func (e *env) Cleanup(f func())                  { e.cleanups = append(e.cleanups, f) }
func (e *env) Logf(format string, args ...any)   { e.log.Info(fmt.Sprintf(format, args...)) }
func (e *env) Errorf(format string, args ...any) { e.failed = true; e.Logf(format, args...) }
func (e *env) Fatalf(format string, args ...any) {
	e.failed = true
	panic(fatal{fmt.Sprintf(format, args...)})
}
func (e *env) Fatal(args ...any) { e.failed = true; panic(fatal{fmt.Sprint(args...)}) }
func (e *env) Skip(args ...any)  { e.Fatal(args...) }

func (e *env) TempDir() string {
	dir, err := os.MkdirTemp(e.root, "d")
	if err != nil {
		e.Fatalf("temp dir: %v", err)
	}
	return dir
}

// close runs the cleanups, last registered first, then removes the root.
func (e *env) close() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
	if os.Getenv("ICE_BENCH_KEEP") != "" {
		e.log.Info("kept the run's files (ICE_BENCH_KEEP)", "dir", e.root)
		return
	}
	os.RemoveAll(e.root)
}
