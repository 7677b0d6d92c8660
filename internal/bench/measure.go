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
	// Paired is the workload's baseline measured in slices alternating
	// with the workload's own (measurePaired); nil when not paired.
	Paired *Point `json:",omitempty"`
}

// op is one operation of a workload; worker is 0..concurrency-1 and seq the
// worker's own count, for workloads that spread over keys or tables.
type op func(ctx context.Context, worker, seq int) error

// measure runs fn from conc workers for d after a short untimed warm-up and
// returns throughput and latency percentiles of the successful calls.
func measure(ctx context.Context, name string, conc int, d time.Duration, fn op) Point {
	return pointOf(name, conc, run(ctx, conc, d, fn, make([]int, conc)))
}

// pairSlices is how many slices of each a paired point alternates.
const pairSlices = 4

// measurePaired measures a workload and its baseline in alternating slices
// (baseline, workload, workload, baseline, ...), d in all for each, so that
// both see the same machine: on a shared machine the load moves by tens of
// percent within minutes, and a ratio of figures taken minutes apart
// measures that drift as much as the catalog.
func measurePaired(ctx context.Context, name, baseline string, conc int, d time.Duration, fn, base op) Point {
	var ws, bs []sample
	// Each worker's seq runs on across slices: workloads name what they
	// create after it.
	wseq, bseq := make([]int, conc), make([]int, conc)
	for i := 0; i < pairSlices && ctx.Err() == nil; i++ {
		if i%2 == 0 {
			bs = append(bs, run(ctx, conc, d/pairSlices, base, bseq))
			ws = append(ws, run(ctx, conc, d/pairSlices, fn, wseq))
		} else {
			ws = append(ws, run(ctx, conc, d/pairSlices, fn, wseq))
			bs = append(bs, run(ctx, conc, d/pairSlices, base, bseq))
		}
	}
	p := pointOf(name, conc, ws...)
	b := pointOf(baseline, conc, bs...)
	p.Paired = &b
	return p
}

// sample is what the workers of one run recorded.
type sample struct {
	lat     []time.Duration
	errs    int
	first   error
	elapsed time.Duration
}

// run runs fn from conc workers for d after an untimed warm-up; worker w
// starts at seq next[w], and next is left at where each stopped.
func run(ctx context.Context, conc int, d time.Duration, fn op, next []int) sample {
	warm := min(d/10, 300*time.Millisecond)
	results := make([]sample, conc)
	start := time.Now()
	warmEnd, end := start.Add(warm), start.Add(warm+d)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[w]
			for seq := next[w]; ctx.Err() == nil; seq++ {
				t0 := time.Now()
				if t0.After(end) {
					next[w] = seq
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
	out := sample{elapsed: time.Since(warmEnd)}
	for _, r := range results {
		out.lat = append(out.lat, r.lat...)
		out.errs += r.errs
		if r.first != nil && out.first == nil {
			out.first = r.first
		}
	}
	return out
}

// pointOf sums samples into a point: throughput over their total time,
// percentiles over all their latencies.
func pointOf(name string, conc int, samples ...sample) Point {
	p := Point{Workload: name, Concurrency: conc}
	var all []time.Duration
	var elapsed time.Duration
	for _, s := range samples {
		all = append(all, s.lat...)
		elapsed += s.elapsed
		p.Errors += s.errs
		if s.first != nil && p.FirstErr == "" {
			p.FirstErr = s.first.Error()
		}
	}
	p.Ops = len(all)
	if elapsed > 0 {
		p.Throughput = float64(p.Ops) / elapsed.Seconds()
	}
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
