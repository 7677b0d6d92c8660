package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stopGrace is how long Stop waits after SIGTERM before it sends SIGKILL.
const stopGrace = 10 * time.Second

// logTailBytes bounds how much of a process log is printed when a test fails:
// enough to show the fatal error, small enough not to bury the test output.
const logTailBytes = 8 << 10

// ProcSpec describes an external process for StartProc.
type ProcSpec struct {
	Name string   // short label, used in messages and the log file name
	Path string   // binary to run, usually from ToolPath
	Args []string // arguments, without the binary
	Env  []string // extra KEY=VALUE entries on top of a minimal environment
}

// Proc is an external process started for a test. Its stdout and stderr go
// to a log file under t.TempDir() whose tail is printed if the test fails.
// The process is killed by t.Cleanup; Restart reuses the same log file.
type Proc struct {
	spec    ProcSpec
	logPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{} // closed when the current run has exited
	paused bool
	starts int
}

// StartProc starts spec and registers a cleanup that kills it and, if the
// test failed, logs the tail of its output.
func StartProc(t testing.TB, spec ProcSpec) *Proc {
	t.Helper()
	p := &Proc{
		spec:    spec,
		logPath: filepath.Join(t.TempDir(), spec.Name+".log"),
	}
	if err := p.start(); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		// Kill, not Stop: the test is over and its data is thrown away, so
		// a graceful shutdown would only slow the suite down.
		if err := p.Kill(); err != nil {
			t.Errorf("testenv: %v", err)
		}
		if t.Failed() {
			t.Logf("testenv: last output of %s (%s):\n%s", spec.Name, p.logPath, p.LogTail())
		}
	})
	return p
}

// minimalEnv keeps the child hermetic: a developer's ETCD_* or VGW_*
// variables would otherwise silently change how the tools behave.
func minimalEnv(extra []string) []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, extra...)
}

func (p *Proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.done:
		default:
			return fmt.Errorf("start %s: already running as pid %d", p.spec.Name, p.cmd.Process.Pid)
		}
	}
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log for %s: %w", p.spec.Name, err)
	}
	// The child writes to the file directly; our copy is not needed after
	// Start, and no goroutine has to copy output.
	defer logFile.Close()
	p.starts++
	fmt.Fprintf(logFile, "=== testenv: start #%d: %s %s\n", p.starts, p.spec.Path, strings.Join(p.spec.Args, " "))

	cmd := exec.Command(p.spec.Path, p.spec.Args...)
	cmd.Env = minimalEnv(p.spec.Env)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// If the test binary dies without running cleanups (a -timeout panic,
	// say), the kernel kills the child so no server outlives the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.spec.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status is in the log; callers only need "exited"
		close(done)
	}()
	p.cmd, p.done, p.paused = cmd, done, false
	return nil
}

// current returns the running process and its done channel, or nil if the
// process has not started or has exited.
func (p *Proc) current() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return nil, nil
	}
	select {
	case <-p.done:
		return nil, nil
	default:
		return p.cmd, p.done
	}
}

// signal sends sig to the running process; a process that has already
// exited is not an error, so helpers stay idempotent.
func (p *Proc) signal(sig syscall.Signal) error {
	cmd, _ := p.current()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %v to %s (pid %d): %w", sig, p.spec.Name, cmd.Process.Pid, err)
	}
	return nil
}

// Kill sends SIGKILL and waits for the process to exit.
func (p *Proc) Kill() error {
	cmd, done := p.current()
	if cmd == nil {
		return nil
	}
	if err := p.signal(syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-time.After(stopGrace):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.spec.Name, cmd.Process.Pid)
	}
}

// Stop sends SIGTERM, waits up to 10s for a clean exit, then kills.
func (p *Proc) Stop() error {
	cmd, done := p.current()
	if cmd == nil {
		return nil
	}
	if err := p.signal(syscall.SIGTERM); err != nil {
		return err
	}
	// A paused process would hold SIGTERM pending forever.
	if err := p.signal(syscall.SIGCONT); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-time.After(stopGrace):
		return p.Kill()
	}
}

// Pause freezes the process with SIGSTOP: it keeps its sockets open but
// answers nothing, like a hung or partitioned server.
func (p *Proc) Pause() error {
	if err := p.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	p.setPaused(true)
	return nil
}

// Resume continues a paused process with SIGCONT.
func (p *Proc) Resume() error {
	if err := p.signal(syscall.SIGCONT); err != nil {
		return err
	}
	p.setPaused(false)
	return nil
}

func (p *Proc) setPaused(v bool) {
	p.mu.Lock()
	p.paused = v
	p.mu.Unlock()
}

// Restart stops the process if it is running and starts it again with the
// same arguments. It does not wait for the process to become ready.
func (p *Proc) Restart(t testing.TB) {
	t.Helper()
	p.RestartWith(t, p.Args())
}

// RestartWith is Restart with new arguments, for servers whose second start
// differs from the first (etcd's --initial-cluster-state, for one).
func (p *Proc) RestartWith(t testing.TB, args []string) {
	t.Helper()
	if err := p.Stop(); err != nil {
		t.Fatalf("testenv: restart: %v", err)
	}
	p.mu.Lock()
	p.spec.Args = append([]string(nil), args...)
	p.mu.Unlock()
	if err := p.start(); err != nil {
		t.Fatalf("testenv: restart: %v", err)
	}
}

// Args returns a copy of the arguments of the latest start.
func (p *Proc) Args() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.spec.Args...)
}

// Pid returns the process id, or 0 if the process is not running.
func (p *Proc) Pid() int {
	cmd, _ := p.current()
	if cmd == nil {
		return 0
	}
	return cmd.Process.Pid
}

// Running reports whether the process is alive (paused counts as alive).
func (p *Proc) Running() bool {
	cmd, _ := p.current()
	return cmd != nil
}

// Paused reports whether the process is alive and stopped by Pause.
func (p *Proc) Paused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paused && p.cmd != nil
}

// LogPath returns the file that collects the process's output.
func (p *Proc) LogPath() string { return p.logPath }

// LogTail returns the last few KiB of the process's output.
func (p *Proc) LogTail() string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	if len(data) > logTailBytes {
		data = data[len(data)-logTailBytes:]
		// Start at a line boundary so the first line is not cut in half.
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return string(data)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. The
// port is released before returning, so a server started right away can
// bind it; the kernel hands out ephemeral ports in rotation, which makes an
// immediate reuse by someone else unlikely.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: find free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatalf("testenv: release port %d: %v", port, err)
	}
	return port
}

// waitHealthy waits until p's health URL answers 200, failing the test if
// p exits first or timeout passes.
func waitHealthy(t testing.TB, p *Proc, name, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if !p.Running() {
			t.Fatalf("testenv: %s exited during startup\n%s", name, p.LogTail())
		}
		err := getOK(url)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: %s not ready after %v: %v\n%s", name, timeout, err, p.LogTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// getOK GETs url and reports anything but a 200 as an error.
func getOK(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("build health request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return nil
}
