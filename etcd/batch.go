package etcd

import (
	"context"
	"errors"
	"sync"
)

// readBatcher shares linearizable reads of one key among the requests that
// want it at the same time, as etcd itself batches ReadIndex requests: a
// hot table loaded by many engines at once costs one etcd read per round
// trip, not one per request (ice-bench, docs/benchmarks.md).
//
// Sharing keeps reads linearizable because a request only joins a read
// that has not been sent yet: the read it gets starts after the request
// arrived, so it sees every write that completed before that. While one
// read of a key is in flight, the requests that arrive form the next
// batch, sent when the first returns; so a key has at most one read in
// flight, and a request waits at most for the one before its own.
//
// A batch's read runs on the context of the request that opened it. If
// that request gives up, the others in its batch try again.
type readBatcher[T any] struct {
	mu   sync.Mutex
	keys map[string]*keyReads[T]
}

type keyReads[T any] struct {
	inFlight *readBatch[T] // sent, not yet answered
	pending  *readBatch[T] // open for requests, waiting for inFlight
}

type readBatch[T any] struct {
	done   chan struct{}
	val    T
	err    error
	gaveUp bool // the request that opened it went away first
}

func newReadBatcher[T any]() *readBatcher[T] {
	return &readBatcher[T]{keys: map[string]*keyReads[T]{}}
}

// read returns read(ctx)'s result for key, sharing it with the concurrent
// requests for key as described on readBatcher.
func (g *readBatcher[T]) read(ctx context.Context, key string, read func(context.Context) (T, error)) (T, error) {
	for {
		g.mu.Lock()
		kr := g.keys[key]
		if kr == nil {
			kr = &keyReads[T]{}
			g.keys[key] = kr
		}
		if b := kr.pending; b != nil {
			g.mu.Unlock()
			select {
			case <-b.done:
			case <-ctx.Done():
				var zero T
				return zero, ctx.Err()
			}
			if b.gaveUp && ctx.Err() == nil {
				continue // the request that opened it gave up, not this one
			}
			return b.val, b.err
		}
		b := &readBatch[T]{done: make(chan struct{})}
		prev := kr.inFlight
		kr.pending = b
		g.mu.Unlock()
		if prev != nil {
			select {
			case <-prev.done:
			case <-ctx.Done():
				g.mu.Lock()
				kr.pending = nil
				g.finish(key, kr)
				g.mu.Unlock()
				b.err, b.gaveUp = ctx.Err(), true
				close(b.done)
				return b.val, b.err
			}
		}
		g.mu.Lock()
		kr.pending, kr.inFlight = nil, b
		g.mu.Unlock()
		defer func() { // also if read panics: the batch must still end
			g.mu.Lock()
			kr.inFlight = nil
			g.finish(key, kr)
			g.mu.Unlock()
			close(b.done)
		}()
		b.err = errReadPanicked // unless read returns
		b.val, b.err = read(ctx)
		b.gaveUp = b.err != nil && ctx.Err() != nil
		return b.val, b.err
	}
}

// errReadPanicked is what the requests sharing a read get if it panicked.
var errReadPanicked = errors.New("etcd read failed: it panicked")

// finish forgets an idle key; g.mu is held.
func (g *readBatcher[T]) finish(key string, kr *keyReads[T]) {
	if kr.inFlight == nil && kr.pending == nil && g.keys[key] == kr {
		delete(g.keys, key)
	}
}
