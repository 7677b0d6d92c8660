package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, installed by scripts/install-chromium.sh.
const chromiumPath = "/usr/bin/chromium"

// browser is one headless Chromium driven by chromedp, with every console
// message, exception and HTTP answer of 400 and above recorded.
type browser struct {
	t      testing.TB
	alloc  context.Context
	ctx    context.Context
	mu     sync.Mutex
	errs   []string // console errors and uncaught exceptions
	bad    []string // "STATUS METHOD URL" of answers >= 400
	shots  string
	closed []context.CancelFunc
}

// needChromium skips without chromium, unless the run requires every tool
// (ICE_REQUIRE_TOOLS=1, as scripts/test.sh sets).
func needChromium(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		if os.Getenv("ICE_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s is missing: run scripts/install-chromium.sh", chromiumPath)
		}
		t.Skipf("%s is missing: run scripts/install-chromium.sh", chromiumPath)
	}
}

// screenshotDir is where page screenshots go: $ICE_CONSOLE_SCREENSHOTS, or
// a fresh temporary directory that outlives the test, as a test artifact.
func screenshotDir(t testing.TB) string {
	if d := os.Getenv("ICE_CONSOLE_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	d, err := os.MkdirTemp("", "ice-console-screenshots-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", d)
	return d
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	needChromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{t: t, alloc: alloc, shots: screenshotDir(t)}
	b.closed = append(b.closed, cancelAlloc)
	b.ctx = b.tab()
	t.Cleanup(func() {
		for i := len(b.closed) - 1; i >= 0; i-- {
			b.closed[i]()
		}
	})
	return b
}

// tab opens a new tab: a fresh sessionStorage, so a fresh sign-in.
func (b *browser) tab() context.Context {
	parent := b.alloc
	if b.ctx != nil {
		parent = b.ctx // a tab in the same browser
	}
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithListener(b.record))
	b.closed = append(b.closed, cancel)
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, log.Enable, cdp.Empty{})
		return err
	}))
	if err != nil {
		b.t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// record keeps console errors, exceptions and answers >= 400. It runs on
// the tab's reader goroutine.
func (b *browser) record(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning || e.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			b.errs = append(b.errs, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " ")))
		}
	case *runtime.EventExceptionThrown:
		msg := e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
		b.errs = append(b.errs, "exception: "+msg)
	case *log.EventEntryAdded:
		// A failed load is logged too; the status check judges those.
		if e.Entry.Level == log.EntryLevelError && e.Entry.Source != log.EntrySourceNetwork {
			b.errs = append(b.errs, fmt.Sprintf("log %s: %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL))
		}
	case *network.EventResponseReceived:
		if e.Response.Status >= 400 {
			b.bad = append(b.bad, fmt.Sprintf("%d %s", e.Response.Status, e.Response.URL))
		}
	}
}

// take returns and forgets the recorded errors and bad answers.
func (b *browser) take() (errs, bad []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	errs, bad = b.errs, b.bad
	b.errs, b.bad = nil, nil
	return errs, bad
}

// expect fails the test on any console error, and on any answer >= 400
// but those matching allowed ("401 /management/v1/whoami": a status and a
// URL substring).
func (b *browser) expect(step string, allowed ...string) {
	b.t.Helper()
	errs, bad := b.take()
	for _, e := range errs {
		b.t.Errorf("%s: browser console error: %s", step, e)
	}
next:
	for _, s := range bad {
		for _, a := range allowed {
			status, sub, _ := strings.Cut(a, " ")
			if strings.HasPrefix(s, status+" ") && strings.Contains(s, sub) {
				continue next
			}
		}
		b.t.Errorf("%s: unexpected answer %s", step, s)
	}
}

func (b *browser) do(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func evalString(ctx context.Context, t *chromedp.Target, js string) (string, error) {
	return chromedp.Evaluate[string](js)(ctx, t)
}

// readyGen is the console's page generation: it grows by one for every
// page rendered (app.dataset.ready).
const readyJS = `document.getElementById('app').dataset.ready || ''`

// waitRendered waits for a page rendered after generation before.
func waitRendered(ctx context.Context, t *chromedp.Target, before string) error {
	_, err := chromedp.Poll[bool](fmt.Sprintf(`(() => { const r = document.getElementById('app').dataset.ready; return !!r && r !== %q; })()`, before),
		chromedp.WithPollingInterval(20*time.Millisecond))(ctx, t)
	return err
}

// visit sets the URL hash and waits until that page is rendered.
func (b *browser) visit(ctx context.Context, hash string) {
	b.t.Helper()
	b.do(ctx, "visit "+hash, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		before, err := evalString(ctx, t, readyJS)
		if err != nil {
			return err
		}
		if _, err := chromedp.Evaluate[bool](fmt.Sprintf(
			`(h => { if (location.hash === h) window.dispatchEvent(new HashChangeEvent('hashchange')); else location.hash = h; return true; })(%q)`, hash))(ctx, t); err != nil {
			return err
		}
		return waitRendered(ctx, t, before)
	}))
}

// click clicks sel and waits for the page to render again (every action
// redraws its page, or moves to another).
func (b *browser) click(ctx context.Context, sel string) {
	b.t.Helper()
	b.do(ctx, "click "+sel, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		before, err := evalString(ctx, t, readyJS)
		if err != nil {
			return err
		}
		if _, err := chromedp.Click(chromedp.CSS(sel))(ctx, t); err != nil {
			return err
		}
		return waitRendered(ctx, t, before)
	}))
}

// fill sets an input's value as typing would.
func (b *browser) fill(ctx context.Context, sel, value string) {
	b.t.Helper()
	b.do(ctx, "fill "+sel, setInput(sel, value))
}

func (b *browser) text(ctx context.Context, sel string) string {
	b.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// eval runs js (awaiting a promise) and decodes its value into T.
func eval[T any](b *browser, ctx context.Context, js string) T {
	b.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func (b *browser) count(ctx context.Context, sel string) int {
	b.t.Helper()
	return eval[int](b, ctx, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

func (b *browser) screenshot(ctx context.Context, name string) string {
	b.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return p
}

func navigate(url string) chromedp.Action[chromedp.Void] { return chromedp.Navigate(url) }

// waitFor polls a JavaScript condition.
func waitFor(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		// Evaluated again and again, rather than Poll, because a sign-in
		// reloads the page and a poll would lose its execution context.
		var last error
		for {
			ok, err := chromedp.Evaluate[bool](js)(ctx, t)
			if err == nil && ok {
				return nil
			}
			if err != nil {
				last = err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %s: %w (last error %v)", js, ctx.Err(), last)
			case <-time.After(25 * time.Millisecond):
			}
		}
	})
}

// clickOnly clicks without waiting for a render (a sign-in reloads).
func clickOnly(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }

// setInput sets an input's or a select's value and fires the events a
// user's typing or choice fires.
func setInput(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.value = %q;
			e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); return e.value === %q; })()`, sel, value, value)
		ok, err := chromedp.Evaluate[bool](js)(ctx, t)
		if err == nil && !ok {
			err = fmt.Errorf("cannot set %s to %q", sel, value)
		}
		return err
	})
}

func setSelect(sel, value string) chromedp.Action[chromedp.Void] { return setInput(sel, value) }

// waitFiles waits until the table page's file sections are filled (or
// failed): they load after the page draws.
func (b *browser) waitFiles(ctx context.Context) {
	b.t.Helper()
	b.do(ctx, "wait for the data files", waitFor(`!!document.querySelector('#files-section[data-ready]')`))
}
