package testenv

import (
	"fmt"
	"testing"
	"time"
)

// Eventually polls cond until it holds, and fails the test with what if it
// does not within timeout. The timeout only stops a hang: it is no timing
// goal (under load everything is slow). cond is polled about 600 times
// over the timeout, every 1ms to 100ms.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	every := min(max(timeout/600, time.Millisecond), 100*time.Millisecond)
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(every)
	}
}

// FreeAddr is FreePort as an address, 127.0.0.1:port.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", FreePort(t))
}
