package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// watchArgs are the Java tool's v0.19 `insert --watch` options: long-poll
// an AWS SQS queue of S3 event notifications and insert, batch by batch,
// the created objects that match the insert's patterns (docs/cli.md,
// "insert --watch").
type watchArgs struct {
	queueURL  string
	endpoint  string
	fireOnce  bool
	debugAddr string
}

func (w *watchArgs) register(fs *flag.FlagSet) {
	fs.StringVar(&w.queueURL, "watch", "", "insert the s3:// files named by the S3 event notifications of this SQS queue `URL` (needs --no-copy, --skip-duplicates and file patterns)")
	fs.StringVar(&w.endpoint, "watch-endpoint", "", "SQS endpoint `URL` for --watch (default: the AWS SDK's)")
	fs.BoolVar(&w.fireOnce, "watch-fire-once", false, "stop --watch after one poll of the queue")
	fs.StringVar(&w.debugAddr, "watch-debug-addr", "", "serve --watch's Prometheus metrics (/metrics) and health (/healthz) on `host:port`")
}

// check validates the --watch options as Java ice does: the files are
// added where they are (--no-copy) and may be offered more than once
// (--skip-duplicates).
func (w *watchArgs) check(a *insertArgs) error {
	if w.queueURL == "" {
		if w.endpoint != "" || w.fireOnce || w.debugAddr != "" {
			return usagef("--watch-endpoint, --watch-fire-once and --watch-debug-addr need --watch")
		}
		return nil
	}
	switch {
	case !a.noCopy && !a.forceNoCopy:
		return usagef("--watch needs --no-copy: the files named by the events are added where they are")
	case !a.skipDuplicates:
		return usagef("--watch needs --skip-duplicates: a queue may deliver an event more than once")
	case a.noCommit:
		return usagef("--watch and --no-commit are mutually exclusive")
	case a.retryList != "":
		return usagef("--watch and --retry-list are mutually exclusive: a failed batch stays on the queue and is retried")
	}
	if u, err := url.Parse(w.queueURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("--watch %q: want an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE)", w.queueURL)
	}
	if w.endpoint != "" {
		if u, err := url.Parse(w.endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("--watch-endpoint %q: want an http(s) URL", w.endpoint)
		}
	}
	return nil
}

// Bounds of one batch, as Java ice's: a long poll of up to 10 messages,
// then what is already waiting, up to about 100 messages.
const (
	watchPollMessages  = 10
	watchPollSeconds   = 20
	watchBatchMessages = 100
	watchDeleteBatch   = 10 // SQS's DeleteMessageBatch limit
	watchRetryWait     = 20 * time.Second
	// A body larger than SQS's own limit (1 MiB) or with more records than
	// S3 ever puts in one notification is not an S3 event: it is skipped
	// whole, so a batch holds at most watchBatchMessages*watchMaxRecords
	// names.
	watchMaxBody    = 1 << 20
	watchMaxRecords = 100
)

// watchPattern is one s3://bucket/key pattern of insert --watch, where
// each * matches any characters, / included (as Java ice's do).
type watchPattern struct {
	bucket string
	parts  []string // the key split at each *
}

func parseWatchPattern(p string) (watchPattern, error) {
	p = strings.Replace(p, "s3a://", "s3://", 1)
	bucket, key, err := splitS3(p)
	if err != nil {
		return watchPattern{}, usagef("--watch pattern %q: want s3://bucket/key, where * matches any characters", p)
	}
	if strings.Contains(bucket, "*") {
		return watchPattern{}, usagef("--watch pattern %q: the bucket cannot hold *", p)
	}
	return watchPattern{bucket: bucket, parts: strings.Split(key, "*")}, nil
}

func (w watchPattern) match(bucket, key string) bool {
	if bucket != w.bucket {
		return false
	}
	first, last := w.parts[0], w.parts[len(w.parts)-1]
	if len(w.parts) == 1 {
		return key == first
	}
	if !strings.HasPrefix(key, first) || !strings.HasSuffix(key[len(first):], last) {
		return false
	}
	mid := key[len(first) : len(key)-len(last)]
	for _, part := range w.parts[1 : len(w.parts)-1] {
		i := strings.Index(mid, part)
		if i < 0 {
			return false
		}
		mid = mid[i+len(part):]
	}
	return true
}

// s3Event is the part of an S3 event notification that --watch reads.
type s3Event struct {
	Records []struct {
		EventName string `json:"eventName"`
		S3        struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key string `json:"key"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
}

// watchMetrics are the counters --watch-debug-addr serves.
type watchMetrics struct {
	reg                               *prometheus.Registry
	polls, messages, matched, skipped prometheus.Counter
	notFound, inserted, batches       prometheus.Counter
	errors                            *prometheus.CounterVec
	lastSuccess                       prometheus.Gauge
}

func newWatchMetrics() *watchMetrics {
	m := &watchMetrics{reg: prometheus.NewRegistry()}
	c := func(name, help string) prometheus.Counter {
		x := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "ice", Subsystem: "watch", Name: name, Help: help})
		m.reg.MustRegister(x)
		return x
	}
	m.polls = c("polls_total", "SQS receive calls")
	m.messages = c("messages_total", "SQS messages received")
	m.matched = c("events_matched_total", "ObjectCreated events naming a file that matches a pattern")
	m.skipped = c("events_skipped_total", "events, records and messages skipped (other events, names matching no pattern, bodies that are not S3 events)")
	m.notFound = c("files_not_found_total", "matched files gone before they were read (skipped)")
	m.inserted = c("files_inserted_total", "files of the batches committed (duplicates included)")
	m.batches = c("batches_committed_total", "batches inserted and deleted from the queue")
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ice", Subsystem: "watch", Name: "errors_total", Help: "failures, by stage (receive, insert, delete)"}, []string{"stage"})
	m.reg.MustRegister(m.errors)
	m.lastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "ice", Subsystem: "watch", Name: "last_success_timestamp_seconds", Help: "when the last poll was handled without error"})
	m.reg.MustRegister(m.lastSuccess)
	return m
}

// watcher runs insert --watch: one poll, batch, insert and delete at a time.
type watcher struct {
	r        *run
	cat      *rest.Catalog
	a        *insertArgs
	name     string
	ident    table.Identifier
	in       *inputs
	patterns []watchPattern
	sqs      *sqs.Client
	m        *watchMetrics
	// retryWait is the pause after a failed batch (20 s, as Java ice's;
	// tests shorten it through Env).
	retryWait time.Duration
}

func (r *run) watchInsert(ctx context.Context, cat *rest.Catalog, a *insertArgs, name string, ident table.Identifier, in *inputs, patterns []string) error {
	w := &watcher{r: r, cat: cat, a: a, name: name, ident: ident, in: in, m: newWatchMetrics(), retryWait: watchRetryWait}
	if r.env.watchRetryWait > 0 {
		w.retryWait = r.env.watchRetryWait
	}
	for _, p := range patterns {
		wp, err := parseWatchPattern(p)
		if err != nil {
			return err
		}
		w.patterns = append(w.patterns, wp)
	}
	client, err := w.sqsClient(ctx)
	if err != nil {
		return err
	}
	w.sqs = client
	if a.watch.debugAddr != "" {
		stop, err := w.serveDebug(a.watch.debugAddr)
		if err != nil {
			return err
		}
		defer stop()
	}
	r.log.Info("watching the queue for S3 events", "queue", a.watch.queueURL, "table", name, "patterns", patterns)
	for {
		err := w.poll(ctx)
		if ctx.Err() != nil {
			r.log.Info("watch stopped", "reason", ctx.Err())
			return nil
		}
		var fatal *watchFatal
		if errors.As(err, &fatal) {
			return fatal.err
		}
		if a.watch.fireOnce {
			return err
		}
		if err != nil {
			r.log.Error("watch batch failed; polling again after a pause (its messages come back after the queue's visibility timeout)", "err", err, "wait", w.retryWait)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(w.retryWait):
			}
		}
	}
}

// watchFatal is a receive error that retrying cannot cure (no such queue,
// access denied): it ends the command.
type watchFatal struct{ err error }

func (e *watchFatal) Error() string { return e.err.Error() }

func (w *watcher) sqsClient(ctx context.Context) (*sqs.Client, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("--watch: AWS config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = queueRegion(w.a.watch.queueURL)
	}
	endpoint := w.a.watch.endpoint
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// queueRegion is the region of an AWS queue URL
// (https://sqs.REGION.amazonaws.com/...), else us-east-1.
func queueRegion(queueURL string) string {
	if u, err := url.Parse(queueURL); err == nil {
		if parts := strings.Split(u.Hostname(), "."); len(parts) >= 4 && parts[0] == "sqs" {
			return parts[1]
		}
	}
	return "us-east-1"
}

// serveDebug serves /metrics and /healthz on addr until stop is called.
func (w *watcher) serveDebug(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--watch-debug-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(w.m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = rw.Write([]byte("ok\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	w.r.log.Info("watch debug server listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// poll receives one batch, inserts the files it names in one commit and
// deletes its messages. On an error the messages are left on the queue.
func (w *watcher) poll(ctx context.Context) error {
	msgs, err := w.receive(ctx)
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		w.m.lastSuccess.SetToCurrentTime()
		return nil
	}
	uris := w.batchFiles(msgs)
	for i := range msgs {
		msgs[i].Body = nil // only the receipt handles are needed now
	}
	if len(uris) > 0 {
		srcs, err := w.sources(ctx, uris)
		if err != nil {
			w.m.errors.WithLabelValues("insert").Inc()
			return err
		}
		if len(srcs) > 0 {
			if err := w.r.insertSources(ctx, w.cat, *w.a, w.name, w.ident, w.in, srcs); err != nil {
				w.m.errors.WithLabelValues("insert").Inc()
				return fmt.Errorf("insert batch of %d file(s): %w", len(srcs), err)
			}
			w.m.inserted.Add(float64(len(srcs)))
		}
	}
	if err := w.delete(ctx, msgs); err != nil {
		w.m.errors.WithLabelValues("delete").Inc()
		return err
	}
	w.m.batches.Inc()
	w.m.lastSuccess.SetToCurrentTime()
	return nil
}

// receive long-polls for up to 10 messages, then takes what is already
// waiting, up to watchBatchMessages in all.
func (w *watcher) receive(ctx context.Context) ([]sqstypes.Message, error) {
	var out []sqstypes.Message
	wait := int32(watchPollSeconds)
	for len(out) < watchBatchMessages {
		w.m.polls.Inc()
		res, err := w.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(w.a.watch.queueURL),
			MaxNumberOfMessages: int32(min(watchPollMessages, watchBatchMessages-len(out))),
			WaitTimeSeconds:     wait,
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			w.m.errors.WithLabelValues("receive").Inc()
			if len(out) > 0 {
				// The batch so far is handled; the error comes back at the next poll if it lasts.
				w.r.log.Warn("receive while draining the queue failed; handling the batch received so far", "err", err)
				break
			}
			if !retryableReceive(err) {
				return nil, &watchFatal{fmt.Errorf("--watch: receive from %s: %w", w.a.watch.queueURL, err)}
			}
			return nil, fmt.Errorf("receive from %s: %w", w.a.watch.queueURL, err)
		}
		w.m.messages.Add(float64(len(res.Messages)))
		out = append(out, res.Messages...)
		if len(res.Messages) == 0 {
			break
		}
		wait = 0 // drain what is waiting, without a long poll
	}
	return out, nil
}

// retryableReceive reports whether a receive error may pass: the SDK's
// retryer already retried it (throttling, 5xx, network), it is a fault of
// the server, or of the network. Anything else (no such queue, access
// denied, no credentials) would fail the same way at every poll.
func retryableReceive(err error) bool {
	var maxAttempts *retry.MaxAttemptsError
	var api smithy.APIError
	var netErr net.Error
	switch {
	case errors.As(err, &maxAttempts):
		return true
	case errors.As(err, &api):
		return api.ErrorFault() == smithy.FaultServer
	default:
		return errors.As(err, &netErr)
	}
}

// batchFiles reads the messages' S3 events and returns the s3:// names of
// the created objects that match a pattern, once each, in order. Every
// other record or message is logged and skipped.
func (w *watcher) batchFiles(msgs []sqstypes.Message) []string {
	var out []string
	seen := map[string]bool{}
	for _, msg := range msgs {
		id := aws.ToString(msg.MessageId)
		body := aws.ToString(msg.Body)
		if len(body) > watchMaxBody {
			w.m.skipped.Inc()
			w.r.log.Warn("skipping a message larger than an S3 event notification", "message", id, "bytes", len(body))
			continue
		}
		var ev s3Event
		if err := json.Unmarshal([]byte(body), &ev); err != nil {
			w.m.skipped.Inc()
			w.r.log.Warn("skipping a message that is not JSON or not an S3 event notification", "message", id, "err", err)
			continue
		}
		if len(ev.Records) == 0 || len(ev.Records) > watchMaxRecords {
			w.m.skipped.Inc()
			w.r.log.Warn("skipping a message that is not an S3 event notification", "message", id, "records", len(ev.Records))
			continue
		}
		for _, rec := range ev.Records {
			bucket := rec.S3.Bucket.Name
			key, err := url.QueryUnescape(rec.S3.Object.Key) // S3 form-encodes event keys
			switch {
			case !strings.HasPrefix(rec.EventName, "ObjectCreated:"):
				w.m.skipped.Inc()
				w.r.log.Info("skipping an event other than ObjectCreated", "message", id, "event", rec.EventName, "bucket", bucket, "key", rec.S3.Object.Key)
				continue
			case err != nil || bucket == "" || !safeKey(key):
				w.m.skipped.Inc()
				w.r.log.Warn("skipping an event with an invalid bucket or key", "message", id, "bucket", bucket, "key", rec.S3.Object.Key)
				continue
			case !w.matches(bucket, key):
				w.m.skipped.Inc()
				w.r.log.Info("skipping a file that matches no pattern", "message", id, "file", "s3://"+bucket+"/"+key)
				continue
			}
			w.m.matched.Inc()
			uri := "s3://" + bucket + "/" + key
			if !seen[uri] {
				seen[uri] = true
				out = append(out, uri)
			}
		}
	}
	return out
}

// safeKey refuses keys that are empty, hold control characters, or have a
// "." or ".." segment, which would name another path than the one they
// seem to once a reader normalises it.
func safeKey(key string) bool {
	if key == "" || len(key) > 1024 {
		return false
	}
	for _, c := range key {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func (w *watcher) matches(bucket, key string) bool {
	for _, p := range w.patterns {
		if p.match(bucket, key) {
			return true
		}
	}
	return false
}

// sources looks up each object; one that is gone is skipped (an event
// may outlive its object), any other error fails the batch.
func (w *watcher) sources(ctx context.Context, uris []string) ([]*source, error) {
	client, err := w.in.s3Client(ctx)
	if err != nil {
		return nil, err
	}
	var out []*source
	for _, uri := range uris {
		bucket, key, _ := splitS3(uri)
		head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
		if err != nil {
			if isNotFound(err) {
				w.m.notFound.Inc()
				w.r.log.Warn("skipping a file that is gone", "file", uri)
				continue
			}
			return nil, fmt.Errorf("input %s: %w", uri, err)
		}
		out = append(out, w.in.s3Source(bucket, key, aws.ToInt64(head.ContentLength)))
	}
	return out, nil
}

func isNotFound(err error) bool {
	var nf *s3types.NotFound
	var nsk *s3types.NoSuchKey
	if errors.As(err, &nf) || errors.As(err, &nsk) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && (api.ErrorCode() == "NotFound" || api.ErrorCode() == "NoSuchKey")
}

// delete removes the batch's messages, 10 per DeleteMessageBatch call.
func (w *watcher) delete(ctx context.Context, msgs []sqstypes.Message) error {
	var failed []string
	for start := 0; start < len(msgs); start += watchDeleteBatch {
		chunk := msgs[start:min(start+watchDeleteBatch, len(msgs))]
		entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle}
		}
		res, err := w.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(w.a.watch.queueURL), Entries: entries})
		if err != nil {
			return fmt.Errorf("delete %d message(s) of the inserted batch (they will be offered again): %w", len(msgs)-start, err)
		}
		for _, f := range res.Failed {
			failed = append(failed, aws.ToString(f.Id)+": "+aws.ToString(f.Code)+" "+aws.ToString(f.Message))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("delete messages of the inserted batch: %d failed (they will be offered again): %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}
