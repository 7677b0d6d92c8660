package console_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"
)

// profileVisit samples the page's JavaScript while it renders hash and
// logs where the time went, when ICE_CONSOLE_BENCH_PROFILE is set: a tool
// for finding what slows the table page, not a check.
func (b *browser) profileVisit(ctx context.Context, hash string) {
	if os.Getenv("ICE_CONSOLE_BENCH_PROFILE") == "" {
		return
	}
	var prof *profiler.Profile
	b.do(ctx, "profile", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, profiler.Enable, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, profiler.Start, cdp.Empty{})
		return err
	}))
	b.visit(ctx, hash)
	b.waitFiles(ctx)
	b.do(ctx, "profile", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, profiler.Stop, cdp.Empty{})
		prof = res.Profile
		return err
	}))
	self := map[string]int64{}
	var total int64
	for _, n := range prof.Nodes {
		fn := n.CallFrame.FunctionName
		if fn == "" {
			fn = "(anonymous)"
		}
		key := fmt.Sprintf("%s %s:%d", fn, n.CallFrame.URL[strings.LastIndex(n.CallFrame.URL, "/")+1:], n.CallFrame.LineNumber+1)
		self[key] += n.HitCount
		total += n.HitCount
	}
	keys := make([]string, 0, len(self))
	for k := range self {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return self[keys[i]] > self[keys[j]] })
	var out []string
	for _, k := range keys[:min(15, len(keys))] {
		out = append(out, fmt.Sprintf("%5.1f%% %s", 100*float64(self[k])/float64(total), k))
	}
	b.t.(testing.TB).Logf("profile of %s (%d samples):\n%s", hash, total, strings.Join(out, "\n"))
}
