package etcd

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestReadBatcherSharesOnlyReadsSentAfterArrival: many concurrent requests
// for one key cost far fewer reads than requests, and every request gets
// the result of a read that started after it arrived (so a write that
// completed before the request was made is always seen).
func TestReadBatcherSharesOnlyReadsSentAfterArrival(t *testing.T) {
	g := newReadBatcher[time.Time]()
	var reads, overlapping atomic.Int64
	var inFlight atomic.Int64
	read := func(context.Context) (time.Time, error) {
		if inFlight.Add(1) > 1 {
			overlapping.Add(1)
		}
		defer inFlight.Add(-1)
		reads.Add(1)
		start := time.Now()
		time.Sleep(2 * time.Millisecond)
		return start, nil
	}
	const requests = 400
	var wg sync.WaitGroup
	errs := make(chan error, requests)
	for i := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i%40) * 100 * time.Microsecond)
			arrived := time.Now()
			started, err := g.read(context.Background(), "k", read)
			if err != nil {
				errs <- err
				return
			}
			if started.Before(arrived) {
				errs <- errors.New("a request got a read sent before it arrived")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := reads.Load(); n >= requests/4 {
		t.Errorf("%d reads for %d concurrent requests: not batched", n, requests)
	}
	if n := overlapping.Load(); n > 0 {
		t.Errorf("%d reads of one key overlapped another", n)
	}
	if len(g.keys) != 0 {
		t.Errorf("%d idle keys kept", len(g.keys))
	}
}

// TestReadBatcherKeysAreIndependent: a slow read of one key does not hold
// up another key's.
func TestReadBatcherKeysAreIndependent(t *testing.T) {
	g := newReadBatcher[string]()
	release := make(chan struct{})
	go g.read(context.Background(), "slow", func(context.Context) (string, error) {
		<-release
		return "slow", nil
	})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := g.read(ctx, "fast", func(context.Context) (string, error) { return "fast", nil })
	if err != nil || v != "fast" {
		t.Fatalf("read of another key: %q, %v", v, err)
	}
}

// TestReadBatcherOpenerGivesUp: when the request whose context a batch's
// read runs on goes away, the others in the batch are still answered, by
// a read of their own.
func TestReadBatcherOpenerGivesUp(t *testing.T) {
	g := newReadBatcher[int]()
	var calls atomic.Int64
	release := holdRead(g, "k")
	openerCtx, cancelOpener := context.WithCancel(context.Background())
	openerDone := make(chan error, 1)
	go func() {
		_, err := g.read(openerCtx, "k", func(ctx context.Context) (int, error) {
			calls.Add(1)
			<-ctx.Done()
			return 0, ctx.Err()
		})
		openerDone <- err
	}()
	waitFor(t, func() bool { return hasPending(g, "k") })
	joined := make(chan int, 1)
	go func() {
		v, err := g.read(context.Background(), "k", func(context.Context) (int, error) {
			calls.Add(1)
			return 7, nil
		})
		if err != nil {
			v = -1
		}
		joined <- v
	}()
	time.Sleep(10 * time.Millisecond) // let it join the pending batch
	cancelOpener()
	if err := <-openerDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("opener: %v, want context.Canceled", err)
	}
	close(release)
	select {
	case v := <-joined:
		if v != 7 {
			t.Fatalf("the request that joined got %d, want its own read's 7", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request that joined was never answered")
	}
}

// holdRead starts a read of key that stays in flight until release is
// closed, so the next requests for key form a pending batch.
func holdRead(g *readBatcher[int], key string) (release chan struct{}) {
	started := make(chan struct{})
	release = make(chan struct{})
	go g.read(context.Background(), key, func(context.Context) (int, error) {
		close(started)
		<-release
		return 0, nil
	})
	<-started
	return release
}

// hasPending reports whether key has a batch open for requests.
func hasPending[T any](g *readBatcher[T], key string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.keys[key] != nil && g.keys[key].pending != nil
}

// waitFor is testenv.Eventually for this package's own tests, which cannot
// import testenv (it imports this package).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestReadBatcherReadPanics: a read that panics still ends its batch, so
// the requests sharing it get an error instead of waiting forever.
func TestReadBatcherReadPanics(t *testing.T) {
	g := newReadBatcher[int]()
	release := holdRead(g, "k")
	go func() {
		defer func() { _ = recover() }()
		g.read(context.Background(), "k", func(context.Context) (int, error) { panic("boom") })
	}()
	waitFor(t, func() bool { return hasPending(g, "k") })
	joined := make(chan error, 1)
	go func() {
		_, err := g.read(context.Background(), "k", func(context.Context) (int, error) { return 1, nil })
		joined <- err
	}()
	time.Sleep(10 * time.Millisecond) // let it join the pending batch
	close(release)
	select {
	case err := <-joined:
		if !errors.Is(err, errReadPanicked) {
			t.Fatalf("the request sharing a panicked read got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request sharing a panicked read was never answered")
	}
}
