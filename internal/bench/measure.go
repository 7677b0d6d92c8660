package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// maxSamples bounds the latencies one worker keeps, so a long point on a
// fast operation cannot grow memory without limit.
const maxSamples = 200_000

// Point is one workload measured at one concurrency.
type Point struct {
	Workload    string
	Concurrency int
	Ops, Errors int
	Throughput  float64 // successful operations per second
	P50, P99    time.Duration
	FirstErr    string
}

// op is one operation of a workload; worker is 0..concurrency-1 and seq the
// worker's own count, for workloads that spread over keys or tables.
type op func(ctx context.Context, worker, seq int) error

// measure runs fn from conc workers for d after a short untimed warm-up and
// returns throughput and latency percentiles of the successful calls.
func measure(ctx context.Context, name string, conc int, d time.Duration, fn op) Point {
	warm := min(d/10, 300*time.Millisecond)
	type result struct {
		lat   []time.Duration
		errs  int
		first error
	}
	results := make([]result, conc)
	start := time.Now()
	warmEnd, end := start.Add(warm), start.Add(warm+d)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[w]
			for seq := 0; ctx.Err() == nil; seq++ {
				t0 := time.Now()
				if t0.After(end) {
					return
				}
				err := fn(ctx, w, seq)
				if t0.Before(warmEnd) {
					continue
				}
				if err != nil {
					r.errs++
					if r.first == nil {
						r.first = err
					}
					continue
				}
				if len(r.lat) < maxSamples {
					r.lat = append(r.lat, time.Since(t0))
				}
			}
		}()
	}
	wg.Wait()
	// Operations in flight at the deadline finish after it; count the
	// window up to the last one so throughput is not inflated.
	elapsed := time.Since(warmEnd)
	p := Point{Workload: name, Concurrency: conc}
	var all []time.Duration
	for _, r := range results {
		all = append(all, r.lat...)
		p.Errors += r.errs
		if r.first != nil && p.FirstErr == "" {
			p.FirstErr = r.first.Error()
		}
	}
	p.Ops = len(all)
	p.Throughput = float64(p.Ops) / elapsed.Seconds()
	if len(all) > 0 {
		slices.Sort(all)
		p.P50 = all[len(all)*50/100]
		p.P99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return p
}

func (p Point) String() string {
	s := fmt.Sprintf("%-28s c=%-3d %9.0f/s p50 %8s p99 %8s ops %d", p.Workload, p.Concurrency, p.Throughput,
		p.P50.Round(10*time.Microsecond), p.P99.Round(10*time.Microsecond), p.Ops)
	if p.Errors > 0 {
		s += fmt.Sprintf(" errors %d (first: %.120s)", p.Errors, p.FirstErr)
	}
	return s
}
