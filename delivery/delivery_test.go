package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/delivery"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// received collects what a sink got, by id, keeping the first order.
type received struct {
	mu    sync.Mutex
	ids   []string
	seen  map[string]int
	event map[string]ice.CloudEvent
}

func newReceived() *received {
	return &received{seen: map[string]int{}, event: map[string]ice.CloudEvent{}}
}

func (r *received) add(ce ice.CloudEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[ce.ID] == 0 {
		r.ids = append(r.ids, ce.ID)
		r.event[ce.ID] = ce
	}
	r.seen[ce.ID]++
}

func (r *received) has(n int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids) >= n
}

func as(ctx context.Context) context.Context {
	return ice.WithAudit(ctx, ice.Audit{Principal: "token:etl", Operation: "updateTable"})
}

// commit makes n commits to each of tables, interleaved, calling onEach
// after each round.
func commit(t *testing.T, s *etcd.Store, ns ice.Namespace, tables []string, n int, onEach func(i int)) {
	t.Helper()
	ctx := as(context.Background())
	for i := range n {
		for _, name := range tables {
			id := ice.TableIdent{Namespace: ns, Name: name}
			ptr, err := s.LoadTable(ctx, id)
			if ice.ErrorCode(err) == ice.ENOTFOUND {
				ptr, err = ice.TablePointer{}, nil
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SwapTables(ctx, []ice.TableSwap{{ID: id, Base: ptr, NewLocation: fmt.Sprintf("file:///w/%s/%d.json", name, i)}}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if onEach != nil {
			onEach(i)
		}
	}
}

// checkAll asserts every committed location arrived, once per id, in
// commit order per table.
func checkAll(t *testing.T, r *received, tables []string, n int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	next := map[string]int{}
	for _, id := range r.ids {
		ce := r.event[id]
		if ce.Type != ice.EventTableCreated && ce.Type != ice.EventTableCommitted {
			continue
		}
		want := fmt.Sprintf("file:///w/%s/%d.json", ce.Data.Name, next[ce.Data.Name])
		if ce.Data.MetadataLocation != want {
			t.Fatalf("%s: %s, want %s (commit order per table)", id, ce.Data.MetadataLocation, want)
		}
		next[ce.Data.Name]++
	}
	for _, name := range tables {
		if next[name] != n {
			t.Errorf("table %s: %d commits delivered, want %d", name, next[name], n)
		}
	}
}

// Two replicas run deliverers against one webhook that fails now and then;
// the leader is stopped half-way. Every event still arrives (at least once;
// by id exactly once), in commit order per table, and the cursor in etcd
// ends at the last event.
func TestWebhookDeliveryAcrossLeaderChange(t *testing.T) {
	cli := testenv.EtcdClient(t)
	store := etcd.NewStore(cli, "default")
	ns := ice.Namespace{"sales"}
	if err := store.CreateNamespace(context.Background(), ns, nil); err != nil {
		t.Fatal(err)
	}
	got := newReceived()
	var mu sync.Mutex
	calls := 0
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		fail := calls%4 == 0 // every fourth POST fails: retried
		mu.Unlock()
		if fail {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		var batch []ice.CloudEvent
		if r.Header.Get("Content-Type") != "application/cloudevents-batch+json" || json.NewDecoder(r.Body).Decode(&batch) != nil {
			http.Error(w, "bad batch", http.StatusBadRequest)
			return
		}
		for _, ce := range batch {
			got.add(ce)
		}
	}))
	defer hook.Close()

	reg := prometheus.NewRegistry()
	start := func(name string) (*delivery.Deliverer, context.CancelFunc, chan struct{}) {
		d := delivery.New(delivery.Config{Feed: store, Cursors: store, Client: cli, ElectionKey: store.EventsLeaderKey(),
			Identity: name, TTL: 2 * time.Second, Source: "/catalogs/default", BatchSize: 5,
			Sinks:   []delivery.Sink{delivery.NewWebhook("hook", hook.URL, nil, 5*time.Second)},
			Backoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Log: testenv.DiscardLogger(), Registerer: reg})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = d.Run(ctx) }()
		return d, cancel, done
	}
	a, stopA, doneA := start("a")
	defer stopA()
	testenv.Eventually(t, 120*time.Second, "a leads and saved its first cursor", func() bool {
		_, ok, _ := store.LoadCursor(context.Background(), "hook")
		return a.Leading() && ok
	})
	b, stopB, doneB := start("b")
	defer stopB()

	tables := []string{"t1", "t2", "t3"}
	const n = 20
	commit(t, store, ns, tables, n, func(i int) {
		if i == n/2 {
			testenv.Eventually(t, 120*time.Second, "some events delivered", func() bool { return got.has(3 * n / 4) })
			stopA() // the leader goes away mid-stream
			<-doneA
			testenv.Eventually(t, 120*time.Second, "b takes over", b.Leading)
		}
	})
	testenv.Eventually(t, 120*time.Second, "every event delivered", func() bool { return got.has(len(tables) * n) })
	checkAll(t, got, tables, n)
	// The cursor's own saves and the election move etcd's head on, so
	// the cursor ends at the last event's revision, not at the head.
	var last int64
	for _, ce := range got.event {
		last = max(last, ce.Revision)
	}
	testenv.Eventually(t, 120*time.Second, "the cursor reaches the last event", func() bool {
		c, _, _ := store.LoadCursor(context.Background(), "hook")
		return c == ice.Cursor{Revision: last}
	})
	if f := testutil.ToFloat64(mustCounter(t, reg, "ice_events_delivery_failures_total")); f == 0 {
		t.Error("no failure counted though the webhook failed every fourth POST")
	}
	stopB()
	<-doneB
}

func mustCounter(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			sum := 0.0
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			c := prometheus.NewCounter(prometheus.CounterOpts{Name: name})
			c.Add(sum)
			return c
		}
	}
	t.Fatalf("metric %s not registered", name)
	return nil
}

// Delivery to a real nats-server's JetStream: every event arrives once
// (JetStream deduplicates by Nats-Msg-Id, which is the CloudEvent id), in
// order, and a deliverer restarted from its saved cursor neither skips
// nor duplicates.
func TestNATSDelivery(t *testing.T) {
	srv := testenv.StartNATS(t)
	cli := testenv.EtcdClient(t)
	store := etcd.NewStore(cli, "default")
	ns := ice.Namespace{"sales"}
	if err := store.CreateNamespace(context.Background(), ns, nil); err != nil {
		t.Fatal(err)
	}
	run := func() (context.CancelFunc, chan struct{}) {
		sink, err := delivery.NewNATS(context.Background(), delivery.NATSConfig{Name: "nats", URL: srv.URL, Subject: "catalog", Stream: "CATALOG"})
		if err != nil {
			t.Fatal(err)
		}
		d := delivery.New(delivery.Config{Feed: store, Cursors: store, Client: cli, ElectionKey: store.EventsLeaderKey(),
			TTL: 2 * time.Second, Source: "/catalogs/default", Sinks: []delivery.Sink{sink}, BatchSize: 7,
			Backoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Log: testenv.DiscardLogger()})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = d.Run(ctx) }()
		testenv.Eventually(t, 120*time.Second, "the deliverer saved its cursor", func() bool {
			_, ok, _ := store.LoadCursor(context.Background(), "nats")
			return ok
		})
		return cancel, done
	}
	stop, done := run()
	tables := []string{"a", "b"}
	commit(t, store, ns, tables, 10, nil)
	// Restart the deliverer before it necessarily finished: it resumes
	// from the saved cursor.
	stop()
	<-done
	stop, done = run()
	defer func() { stop(); <-done }()

	nc, err := nats.Connect(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cons, err := js.OrderedConsumer(ctx, "CATALOG", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got := newReceived()
	for !got.has(20) {
		msg, err := cons.Next(jetstream.FetchMaxWait(100 * time.Second))
		if err != nil {
			t.Fatalf("after %d events: %v", len(got.ids), err)
		}
		var ce ice.CloudEvent
		if err := json.Unmarshal(msg.Data(), &ce); err != nil {
			t.Fatal(err)
		}
		if msg.Headers().Get(jetstream.MsgIDHeader) != ce.ID || msg.Subject() != "catalog."+ce.Type {
			t.Fatalf("message %s on %s: id header %q", ce.ID, msg.Subject(), msg.Headers().Get(jetstream.MsgIDHeader))
		}
		got.add(ce)
	}
	checkAll(t, got, tables, 10)
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumPending != 0 {
		t.Fatalf("%d more messages in the stream than events: duplicates", info.NumPending)
	}
	for id, n := range got.seen {
		if n != 1 {
			t.Errorf("%s in the stream %d times", id, n)
		}
	}
}
