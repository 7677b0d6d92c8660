package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ice-rest-catalog/ice/cli"
)

// The insert --watch tests run the real CLI against a real catalog and
// versitygw; only the SQS queue is a fake (sqsfake_test.go says why).

// watchEnv is a catalog on versitygw (bucket "warehouse") and an SQS fake
// with the queue "events".
type watchEnv struct {
	*iceEnv
	sqs      *sqsFake
	queueURL string
}

func startWatch(t *testing.T) *watchEnv {
	t.Helper()
	// The CLI's SQS client takes the AWS SDK's usual settings from the
	// environment; keep the developer's out and give it keys to sign with.
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_SQS": "",
	} {
		t.Setenv(k, v)
	}
	e := startS3Catalog(t)
	f := startSQSFake(t)
	out, err := f.client().CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("events")})
	if err != nil {
		t.Fatal(err)
	}
	return &watchEnv{iceEnv: e, sqs: f, queueURL: aws.ToString(out.QueueUrl)}
}

// client is the real SDK client the test enqueues events with.
func (f *sqsFake) client() *sqs.Client {
	return sqs.New(sqs.Options{
		BaseEndpoint: aws.String(f.URL()), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

func (w *watchEnv) send(t *testing.T, body string) {
	t.Helper()
	if _, err := w.sqs.client().SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: &w.queueURL, MessageBody: &body}); err != nil {
		t.Fatal(err)
	}
}

// s3EventBody is an S3 event notification as S3 sends it to SQS, with one
// record per (event, bucket, key); keys are form-encoded, as S3's are.
func s3EventBody(recs ...[3]string) string {
	type rec struct {
		EventVersion string `json:"eventVersion"`
		EventSource  string `json:"eventSource"`
		EventName    string `json:"eventName"`
		S3           struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key  string `json:"key"`
				Size int    `json:"size"`
			} `json:"object"`
		} `json:"s3"`
	}
	var out struct {
		Records []rec `json:"Records"`
	}
	for _, r := range recs {
		var x rec
		x.EventVersion, x.EventSource, x.EventName = "2.1", "aws:s3", r[0]
		x.S3.Bucket.Name = r[1]
		x.S3.Object.Key = url.QueryEscape(r[2])
		x.S3.Object.Key = strings.ReplaceAll(x.S3.Object.Key, "%2F", "/")
		out.Records = append(out.Records, x)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func created(key string) string { return s3EventBody([3]string{"ObjectCreated:Put", "warehouse", key}) }

func (w *watchEnv) watchArgs(extra ...string) []string {
	args := []string{"insert", "--watch", w.queueURL, "--watch-endpoint", w.sqs.URL(), "--no-copy", "--skip-duplicates"}
	return append(args, extra...)
}

func (w *watchEnv) snapshots(t *testing.T, name string) int {
	t.Helper()
	var snaps []struct {
		Operation string `json:"operation"`
	}
	decodeJSON(t, w.ok(t, "list-snapshots", name, "--json"), &snaps)
	return len(snaps)
}

func (w *watchEnv) assertQueue(t *testing.T, visible, inFlight int) {
	t.Helper()
	if v, f := w.sqs.counts("events"); v != visible || f != inFlight {
		t.Fatalf("queue: %d visible, %d in flight; want %d, %d", v, f, visible, inFlight)
	}
}

// TestInsertWatchBatch: S3 events for 12 files uploaded to versitygw are
// received as one batch (a long poll of 10, then a drain without waiting),
// the files are inserted where they are in ONE commit, and the 12 messages
// are deleted in batches of at most 10. A form-encoded key (a space) is
// decoded.
func TestInsertWatchBatch(t *testing.T) {
	w := startWatch(t)
	w.put(t, "warehouse", "landing/seed.parquet", parquetBytes(t, rows(1000, 2, day1, "eu")))
	w.ok(t, "insert", "-p", "--no-copy", "db.t", "s3://warehouse/landing/seed.parquet")
	var want []int64
	for i := range 12 {
		key := fmt.Sprintf("landing/d%d/f %d.parquet", i%3, i)
		w.put(t, "warehouse", key, parquetBytes(t, rows(int64(10*i), 2, day1, "eu")))
		w.send(t, created(key))
		want = append(want, int64(10*i), int64(10*i+1))
	}
	want = append(want, 1000, 1001)
	slices.Sort(want)

	w.ok(t, w.watchArgs("--watch-fire-once", "db.t", "s3://warehouse/landing/d*/*.parquet")...)
	if got := w.scanIDs(t, "db.t"); !slices.Equal(got, want) {
		t.Fatalf("rows = %v, want %v", got, want)
	}
	if n := w.snapshots(t, "db.t"); n != 2 {
		t.Fatalf("%d snapshots, want 2 (the seed and one for the batch)", n)
	}
	w.assertQueue(t, 0, 0)
	if got := w.sqs.deleteBatches(); !slices.Equal(got, []int{10, 2}) {
		t.Fatalf("DeleteMessageBatch sizes = %v, want [10 2]", got)
	}
	if got := w.sqs.receiveWaits(); len(got) < 2 || got[0] != 20 || got[1] != 0 {
		t.Fatalf("ReceiveMessage WaitTimeSeconds = %v, want a 20 s long poll, then drains of 0", got)
	}
}

// TestInsertWatchSkips: what is not an ObjectCreated event for a matching,
// well-formed key of the pattern's bucket is logged, not inserted, and its
// message deleted with the batch; the one good file is inserted.
func TestInsertWatchSkips(t *testing.T) {
	w := startWatch(t)
	good := parquetBytes(t, rows(0, 3, day1, "eu"))
	other := parquetBytes(t, rows(100, 3, day1, "eu"))
	w.put(t, "warehouse", "landing/good.parquet", good)
	w.put(t, "warehouse", "landing/removed.parquet", other)
	w.put(t, "warehouse", "elsewhere/x.parquet", other)
	w.put(t, "input", "landing/x.parquet", other)
	w.put(t, "warehouse", "landing/x.parquet", other) // named only by hostile events below
	bodies := []string{
		s3EventBody([3]string{"ObjectRemoved:Delete", "warehouse", "landing/removed.parquet"}),
		s3EventBody([3]string{"s3:TestEvent", "warehouse", "landing/removed.parquet"}),
		created("elsewhere/x.parquet"),                                            // matches no pattern
		s3EventBody([3]string{"ObjectCreated:Put", "input", "landing/x.parquet"}), // another bucket
		created("landing/../landing/x.parquet"),                                   // a .. segment
		created("landing/./x.parquet"),
		`{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "warehouse"}, "object": {"key": "landing/%zz.parquet"}}}]}`, // bad escape
		"not json at all",
		`{"Records": "landing/x.parquet"}`,
		`{"Service":"Amazon S3","Event":"s3:TestEvent"}`,
		`{"Records": [` + strings.Repeat(`{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"warehouse"},"object":{"key":"landing/x.parquet"}}},`, 100) +
			`{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"warehouse"},"object":{"key":"landing/x.parquet"}}}]}`, // 101 records
		`{"pad": "` + strings.Repeat("x", 1<<20) + `", "Records": [{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"warehouse"},"object":{"key":"landing/x.parquet"}}}]}`, // over 1 MiB
		created("landing/good.parquet"),
	}
	for _, b := range bodies {
		w.send(t, b)
	}
	r := w.ice(t, w.watchArgs("--watch-fire-once", "-p", "db.t", "s3://warehouse/landing/*")...)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if got := w.scanIDs(t, "db.t"); !slices.Equal(got, seq(0, 3)) {
		t.Fatalf("rows = %v, want only good.parquet's 0..2\n%s", got, r.Stderr)
	}
	w.assertQueue(t, 0, 0)
	for _, msg := range []string{"other than ObjectCreated", "matches no pattern", "invalid bucket or key", "not JSON", "not an S3 event notification", "larger than"} {
		if !strings.Contains(r.Stderr, msg) {
			t.Errorf("stderr has no %q:\n%s", msg, r.Stderr)
		}
	}
}

// TestInsertWatchDuplicates: a file offered twice in one batch is inserted
// once; offered again in a later batch, --skip-duplicates skips it and no
// snapshot is added; both batches' messages are deleted.
func TestInsertWatchDuplicates(t *testing.T) {
	w := startWatch(t)
	w.put(t, "warehouse", "landing/a.parquet", parquetBytes(t, rows(0, 4, day1, "eu")))
	w.send(t, created("landing/a.parquet"))
	w.send(t, s3EventBody([3]string{"ObjectCreated:Put", "warehouse", "landing/a.parquet"}, [3]string{"ObjectCreated:CompleteMultipartUpload", "warehouse", "landing/a.parquet"}))
	args := w.watchArgs("--watch-fire-once", "-p", "db.t", "s3://warehouse/landing/*.parquet")
	w.ok(t, args...)
	if got := w.scanIDs(t, "db.t"); !slices.Equal(got, seq(0, 4)) {
		t.Fatalf("rows = %v, want 0..3 once", got)
	}
	w.assertQueue(t, 0, 0)
	w.send(t, created("landing/a.parquet"))
	w.ok(t, args...)
	if got := w.scanIDs(t, "db.t"); !slices.Equal(got, seq(0, 4)) {
		t.Fatalf("rows after the second offer = %v, want 0..3 once", got)
	}
	if n := w.snapshots(t, "db.t"); n != 1 {
		t.Fatalf("%d snapshots, want 1", n)
	}
	w.assertQueue(t, 0, 0)
}

// TestInsertWatchFailureKeepsMessages: a batch whose insert fails (no
// table, and no -p) deletes no message: they come back after the
// visibility timeout. Offered again with -p, the table is created from the
// first file and the batch inserted; a file gone before it is read is
// skipped.
func TestInsertWatchFailureKeepsMessages(t *testing.T) {
	w := startWatch(t)
	w.put(t, "warehouse", "landing/a.parquet", parquetBytes(t, rows(0, 2, day1, "eu")))
	w.put(t, "warehouse", "landing/b.parquet", parquetBytes(t, rows(2, 2, day1, "us")))
	w.send(t, created("landing/a.parquet"))
	w.send(t, created("landing/gone.parquet")) // never uploaded
	w.send(t, created("landing/b.parquet"))
	r := w.ice(t, w.watchArgs("--watch-fire-once", "db.t", "s3://warehouse/landing/*")...)
	if r.Code == 0 || !strings.Contains(r.Stderr, "-p") {
		t.Fatalf("insert into a missing table without -p: exit %d: %s", r.Code, r.Stderr)
	}
	w.assertQueue(t, 0, 3) // received, not deleted
	if got := w.sqs.deleteBatches(); len(got) != 0 {
		t.Fatalf("DeleteMessageBatch called %v after a failed insert", got)
	}
	w.sqs.expireInFlight()
	w.assertQueue(t, 3, 0)

	r = w.ice(t, w.watchArgs("--watch-fire-once", "-p", "db.t", "s3://warehouse/landing/*")...)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if got := w.scanIDs(t, "db.t"); !slices.Equal(got, seq(0, 4)) {
		t.Fatalf("rows = %v, want 0..3", got)
	}
	if !strings.Contains(r.Stderr, "gone.parquet") {
		t.Errorf("the missing file is not logged:\n%s", r.Stderr)
	}
	if out := w.ok(t, "describe", "db.t"); !strings.Contains(out, "region") || !strings.Contains(out, "value") {
		t.Fatalf("the table's schema is not the first file's:\n%s", out)
	}
	w.assertQueue(t, 0, 0)
}

// TestInsertWatchRefused: --watch needs --no-copy, --skip-duplicates and a
// pattern, as Java ice's does; the companion flags need --watch. Each is
// refused as a usage error before the queue is touched.
func TestInsertWatchRefused(t *testing.T) {
	w := startWatch(t)
	w.send(t, created("landing/a.parquet"))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"insert", "--watch", w.queueURL, "--skip-duplicates", "db.t", "s3://warehouse/*"}, "--no-copy"},
		{[]string{"insert", "--watch", w.queueURL, "--no-copy", "db.t", "s3://warehouse/*"}, "--skip-duplicates"},
		{[]string{"insert", "--watch", w.queueURL, "--no-copy", "--skip-duplicates", "db.t"}, "FILE"},
		{[]string{"insert", "--watch", "not a url", "--no-copy", "--skip-duplicates", "db.t", "s3://warehouse/*"}, "queue URL"},
		{[]string{"insert", "--watch", w.queueURL, "--no-copy", "--skip-duplicates", "db.t", "/local/*.parquet"}, "s3://bucket/key"},
		{[]string{"insert", "--watch-fire-once", "--no-copy", "db.t", "s3://warehouse/a.parquet"}, "need --watch"},
		{[]string{"insert", "--watch-endpoint", w.sqs.URL(), "db.t", "s3://warehouse/a.parquet"}, "need --watch"},
		{[]string{"insert", "--watch-debug-addr", "127.0.0.1:0", "db.t", "s3://warehouse/a.parquet"}, "need --watch"},
	} {
		r := w.ice(t, c.args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%v: exit %d, want 2 with %q: %s", c.args, r.Code, c.want, r.Stderr)
		}
	}
	w.assertQueue(t, 1, 0) // nothing received
}

// syncBuffer is a bytes.Buffer safe to read while the command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestInsertWatchLoop: without --watch-fire-once the command keeps
// polling: a failed batch (a file the table cannot take) is retried after
// the pause (shortened here) once its messages come back, each later
// batch is inserted as it arrives, --watch-debug-addr serves the metrics
// and /healthz, and cancelling the command ends it cleanly.
func TestInsertWatchLoop(t *testing.T) {
	w := startWatch(t)
	w.put(t, "warehouse", "landing/a.parquet", parquetBytes(t, rows(0, 2, day1, "eu")))
	w.put(t, "warehouse", "landing/b.parquet", parquetBytes(t, rows(2, 2, day1, "eu")))
	w.ok(t, "insert", "-p", "--no-copy", "db.t", "s3://warehouse/landing/a.parquet")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	debug := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		env := cli.WithWatchRetryWait(cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr, Getenv: func(string) string { return "" }}, time.Millisecond)
		done <- cli.Main(ctx, append([]string{"-c", w.Config}, w.watchArgs("--watch-debug-addr", debug, "db.t", "s3://warehouse/landing/*")...), env)
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(commandTimeout); !cond(); time.Sleep(20 * time.Millisecond) {
			select {
			case code := <-done:
				t.Fatalf("the watch ended (exit %d) while waiting for %s:\n%s", code, what, stderr.String())
			default:
			}
			if time.Now().After(end) {
				t.Fatalf("timed out waiting for %s:\n%s", what, stderr.String())
			}
		}
	}
	// A file of another schema fails its batch; the message stays.
	w.put(t, "warehouse", "landing/bad.parquet", writeRecordFile(t))
	w.send(t, created("landing/bad.parquet"))
	waitFor("the failed batch", func() bool { return strings.Contains(stderr.String(), "watch batch failed") })
	w.assertQueue(t, 0, 1)
	// Fixed (the bad file replaced) and its timeout over, the retry takes it.
	w.put(t, "warehouse", "landing/bad.parquet", parquetBytes(t, rows(10, 1, day1, "eu")))
	w.sqs.expireInFlight()
	waitFor("the retried batch", func() bool { v, f := w.sqs.counts("events"); return v == 0 && f == 0 })
	w.send(t, created("landing/b.parquet"))
	waitFor("the second batch", func() bool {
		v, f := w.sqs.counts("events")
		return v == 0 && f == 0 && len(w.sqs.deleteBatches()) == 2
	})
	if got := w.scanIDs(t, "db.t"); !slices.Equal(got, []int64{0, 1, 2, 3, 10}) {
		t.Fatalf("rows = %v, want 0..3 and 10", got)
	}
	get := func(path string) string {
		resp, err := http.Get("http://" + debug + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return string(b)
	}
	if h := get("/healthz"); !strings.Contains(h, "ok") {
		t.Fatalf("/healthz = %q", h)
	}
	m := get("/metrics")
	for _, want := range []string{"ice_watch_files_inserted_total 2", "ice_watch_batches_committed_total 2", `ice_watch_errors_total{stage="insert"} 1`, "ice_watch_events_matched_total 3"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics has no %q:\n%s", want, m)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d after cancel:\n%s", code, stderr.String())
	}
}

// writeRecordFile is a Parquet file whose id column holds strings, which
// the test table's int64 id cannot take.
func writeRecordFile(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	p := badParquet(t, dir)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestInsertWatchFatalReceive: a receive error that polling again cannot
// cure (the queue does not exist) ends the command with exit 1, even
// without --watch-fire-once, instead of retrying forever.
func TestInsertWatchFatalReceive(t *testing.T) {
	w := startWatch(t)
	args := []string{"insert", "--watch", w.sqs.URL() + "/000000000000/nosuch", "--watch-endpoint", w.sqs.URL(),
		"--no-copy", "--skip-duplicates", "db.t", "s3://warehouse/landing/*"}
	r := w.ice(t, args...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "QueueDoesNotExist") {
		t.Fatalf("exit %d, want 1 naming QueueDoesNotExist: %s", r.Code, r.Stderr)
	}
}
