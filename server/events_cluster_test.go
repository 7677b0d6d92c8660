package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// eventLog keeps what a consumer received, deduplicated by id, in the
// order of first arrival.
type eventLog struct {
	mu    sync.Mutex
	order []ice.CloudEvent
	count map[string]int
}

func (l *eventLog) add(ce ice.CloudEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count == nil {
		l.count = map[string]int{}
	}
	if l.count[ce.ID] == 0 {
		l.order = append(l.order, ce)
	}
	l.count[ce.ID]++
}

// locations is the metadata locations of table's created and committed
// events, in order.
func (l *eventLog) locations(table string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ce := range l.order {
		if ce.Subject == table && (ce.Type == ice.EventTableCommitted || ce.Type == ice.EventTableCreated) {
			out = append(out, ce.Data.MetadataLocation)
		}
	}
	return out
}

// follow consumes the SSE stream of base from after, reconnecting with
// its Last-Event-ID whenever the stream ends, until ctx ends.
func follow(ctx context.Context, base, token, after string, log *eventLog, dups *int) {
	last := after
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/management/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Last-Event-ID", last)
		resp, err := http.DefaultClient.Do(req)
		if err == nil && resp.StatusCode == 200 {
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			var id string
			for sc.Scan() {
				line := sc.Text()
				if v, ok := strings.CutPrefix(line, "id: "); ok {
					id = v
				}
				if v, ok := strings.CutPrefix(line, "data: "); ok && id != "" {
					var ce ice.CloudEvent
					if json.Unmarshal([]byte(v), &ce) == nil {
						log.mu.Lock()
						if log.count[ce.ID] > 0 {
							*dups++
						}
						log.mu.Unlock()
						log.add(ce)
						last = id
					}
					id = ""
				}
			}
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func leaderOf(t *testing.T, replicas []*testenv.ServerProc) int {
	t.Helper()
	for i, r := range replicas {
		if !r.Proc().Running() {
			continue
		}
		if _, body := get(t, r.Debug+"/metrics"); strings.Contains(body, "\nice_events_delivery_leader 1") {
			return i
		}
	}
	return -1
}

// On a 3-member etcd cluster with two catalog replicas delivering to one
// webhook: the delivering replica is killed (SIGKILL) and an etcd member
// restarted while commits go on. The webhook still receives every
// acknowledged commit, in commit order per table (deduplicated by id),
// and a consumer of the SSE stream on the other replica, reconnecting
// with its cursor, receives each exactly once.
func TestEventsSurviveReplicaKillAndEtcdRestart(t *testing.T) {
	cluster := testenv.StartEtcdCluster(t, 3)
	bin, err := testenv.BuildServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	hooked := &eventLog{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var batch []ice.CloudEvent
		if err := json.NewDecoder(r.Body).Decode(&batch); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		for _, ce := range batch {
			hooked.add(ce)
		}
	}))
	defer hook.Close()
	cfg := fmt.Sprintf(`uri: etcd:%s
warehouse: file://%s
bearerTokens: [{name: w, value: w-token}]
events:
  maxBackoff: 500ms
  webhooks: [{name: hook, url: %q}]
`, strings.Join(cluster.Endpoints(), ","), t.TempDir(), hook.URL)
	replicas := []*testenv.ServerProc{
		testenv.StartServerProc(t, "a", bin, cfg),
		testenv.StartServerProc(t, "b", bin, cfg),
	}
	var lead int
	testenv.Eventually(t, 3*time.Minute, "a delivery leader", func() bool { lead = leaderOf(t, replicas); return lead >= 0 })
	other := 1 - lead

	ctx := context.Background()
	cat := testenv.Client(t, replicas[other].URL, rest.WithOAuthToken("w-token"))
	if err := cat.CreateNamespace(ctx, table.Identifier{"ev"}, nil); err != nil {
		t.Fatal(err)
	}
	// The stream consumer starts before the table exists.
	streamed := &eventLog{}
	dups := 0
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); follow(sctx, replicas[other].URL, "w-token", "0", streamed, &dups) }()

	tbl, err := cat.CreateTable(ctx, table.Identifier{"ev", "t"}, eventSchema)
	if err != nil {
		t.Fatal(err)
	}
	acked := []string{tbl.MetadataLocation()}
	commitOnce := func(i int) {
		t.Helper()
		for attempt := 0; ; attempt++ {
			cur, err := cat.LoadTable(ctx, table.Identifier{"ev", "t"})
			if err == nil {
				tx := cur.NewTransaction()
				if err = tx.SetProperties(iceberg.Properties{"i": fmt.Sprint(i)}); err == nil {
					var next *table.Table
					if next, err = tx.Commit(ctx); err == nil {
						acked = append(acked, next.MetadataLocation())
						return
					}
				}
			}
			// Across an etcd restart a commit may fail cleanly; an unknown
			// outcome would make the acknowledged list ambiguous.
			if strings.Contains(err.Error(), "CommitStateUnknown") || attempt > 20 {
				t.Fatalf("commit %d: %v", i, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	const n = 30
	for i := range n {
		switch i {
		case n / 3:
			if err := replicas[lead].Proc().Kill(); err != nil {
				t.Fatal(err)
			}
		case 2 * n / 3:
			cluster.Member(cluster.Leader(t)).Restart(t)
		}
		commitOnce(i)
	}
	testenv.Eventually(t, 3*time.Minute, "the webhook gets every commit", func() bool { return len(hooked.locations("ev.t")) >= len(acked) })
	testenv.Eventually(t, 3*time.Minute, "the stream gets every commit", func() bool { return len(streamed.locations("ev.t")) >= len(acked) })
	stop()
	<-done
	if got := hooked.locations("ev.t"); fmt.Sprint(got) != fmt.Sprint(acked) {
		t.Errorf("webhook: %d events\n%v\nwant the %d acknowledged commits in order\n%v", len(got), got, len(acked), acked)
	}
	if got := streamed.locations("ev.t"); fmt.Sprint(got) != fmt.Sprint(acked) {
		t.Errorf("stream: %d events, want the %d acknowledged commits in order", len(got), len(acked))
	}
	if dups != 0 {
		t.Errorf("the stream delivered %d events twice across reconnects", dups)
	}
	t.Logf("webhook: %d events, %d distinct; stream: %d distinct", sum(hooked.count), len(hooked.order), len(streamed.order))
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
