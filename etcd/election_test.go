package etcd_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// TestElectionHandsOverOnShutdownAndSessionLoss: of two replicas one
// leads; its lead's context ends when its session is lost, and it is told
// (OnLeading) when it starts and stops leading. A replica that shuts down
// resigns, so the other takes over at once: the lease here (60s) is longer
// than the wait, so only the resignation can hand over in time.
func TestElectionHandsOverOnShutdownAndSessionLoss(t *testing.T) {
	e := testenv.StartEmbeddedEtcd(t)
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)

	type replica struct {
		el      *etcd.Election
		cancel  context.CancelFunc
		leads   atomic.Int64 // lead calls
		ended   atomic.Int64 // lead calls returned because their context ended
		changes chan bool
	}
	start := func(name string) *replica {
		cli, err := etcd.Connect(context.Background(), clientv3.Config{Endpoints: []string{e.Endpoint}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close() })
		r := &replica{changes: make(chan bool, 16)}
		r.el = etcd.NewElection(etcd.ElectionConfig{Client: cli, Key: "test/leader", Identity: name,
			TTL: 60 * time.Second, Role: "test", Log: testenv.DiscardLogger(),
			OnLeading: func(v bool) { r.changes <- v }})
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel = cancel
		t.Cleanup(cancel)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.el.Run(ctx, func(lctx context.Context) {
				r.leads.Add(1)
				<-lctx.Done()
				r.ended.Add(1)
			})
		}()
		return r
	}

	a := start("a")
	testenv.Eventually(t, 30*time.Second, "a leads", a.el.Leading)
	if v := <-a.changes; !v {
		t.Fatal("OnLeading(false) before a led")
	}
	b := start("b")

	// A lost session ends the lead; a, campaigning again, waits behind b
	// or wins again, but never leads twice at once.
	// (A lease already gone means the session was lost before: the state
	// wanted. Under heavy load a keep-alive can come too late.)
	if err := a.el.CloseSession(); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "a's lead ends with its session", func() bool { return a.ended.Load() == 1 })
	if v := <-a.changes; v {
		t.Fatal("OnLeading(true) twice in a row")
	}
	testenv.Eventually(t, 30*time.Second, "a leader after the lost session", func() bool { return a.el.Leading() || b.el.Leading() })

	// Whoever leads now shuts down; the other takes over well before the
	// 60s lease could expire.
	leader, other := a, b
	if b.el.Leading() {
		leader, other = b, a
	}
	leader.cancel()
	testenv.Eventually(t, 30*time.Second, "the other replica takes over after a resignation", other.el.Leading)
	if a.el.Leading() && b.el.Leading() {
		t.Fatal("both replicas lead")
	}
}
