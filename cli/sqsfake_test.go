package cli_test

// sqsFake is a FAKE Amazon SQS server, the one stand-in of the insert
// --watch tests. Everything else in them is real: the real `ice` CLI code,
// the real AWS SDK for Go v2 SQS client (it speaks to this fake over HTTP
// on 127.0.0.1), and a real catalog server on etcd with versitygw holding
// the files (internal/testenv), as in the other cli tests.
//
// Why a fake: the rule is that a mock is acceptable only where no real
// thing can run here, and no real SQS server can. The SDK's SQS client
// (service/sqs v1.53.0, and every release from v1.28.4 on) speaks the AWS
// JSON 1.0 protocol (POST with X-Amz-Target: AmazonSQS.<Operation>).
// goaws v0.4.5, the newest the Go module proxy serves, and npm's sqslite
// 2.1.1 speak only the older query protocol (goaws answers CreateQueue
// with "400 Bad Request - Action: "); ElasticMQ is a JVM jar on Maven
// Central, which this machine cannot reach; no Debian package has it or
// LocalStack. So the fake implements the AWS JSON 1.0 protocol for
// exactly the operations the tests and `ice insert --watch` use:
// CreateQueue, SendMessage, ReceiveMessage (MaxNumberOfMessages,
// WaitTimeSeconds long polling, the visibility timeout: a received message
// is invisible until deleted or until its timeout, which tests end at once
// with expireInFlight) and DeleteMessageBatch (at most 10 entries, as
// SQS). Bodies carry MD5OfBody, which the SDK checks.

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeMessage struct {
	id, body       string
	receipt        string    // the handle of the last receive; "" before
	invisibleUntil time.Time // zero: visible
}

type sqsFake struct {
	srv *httptest.Server

	mu      sync.Mutex
	queues  map[string][]*fakeMessage // by queue name
	wake    chan struct{}             // closed and replaced when a message is sent
	seq     int
	deletes []int   // the number of entries of each DeleteMessageBatch
	waits   []int32 // the WaitTimeSeconds of each ReceiveMessage
}

// startSQSFake starts the fake on 127.0.0.1.
func startSQSFake(t *testing.T) *sqsFake {
	t.Helper()
	f := &sqsFake{queues: map[string][]*fakeMessage{}, wake: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *sqsFake) URL() string { return f.srv.URL }

type sqsError struct {
	status int
	code   string
	msg    string
}

func (f *sqsFake) serve(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if r.Method != http.MethodPost || !ok || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.0") {
		f.fail(w, &sqsError{400, "InvalidAction", "want an AWS JSON 1.0 request (POST, X-Amz-Target: AmazonSQS.*)"})
		return
	}
	if r.Header.Get("Authorization") == "" {
		f.fail(w, &sqsError{403, "MissingAuthenticationToken", "the request is not signed"})
		return
	}
	var in map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.fail(w, &sqsError{400, "InvalidParameterValue", err.Error()})
		return
	}
	var (
		out  any
		serr *sqsError
	)
	switch op {
	case "CreateQueue":
		out, serr = f.createQueue(in)
	case "SendMessage":
		out, serr = f.sendMessage(in)
	case "ReceiveMessage":
		out, serr = f.receiveMessage(r, in)
	case "DeleteMessageBatch":
		out, serr = f.deleteMessageBatch(in)
	default:
		serr = &sqsError{400, "InvalidAction", "the fake does not implement " + op}
	}
	if serr != nil {
		f.fail(w, serr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(out)
}

func (f *sqsFake) fail(w http.ResponseWriter, e *sqsError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + e.code, "message": e.msg})
}

func str(in map[string]json.RawMessage, key string) string {
	var s string
	_ = json.Unmarshal(in[key], &s)
	return s
}

func num(in map[string]json.RawMessage, key string, def int32) int32 {
	if in[key] == nil {
		return def
	}
	var n int32
	_ = json.Unmarshal(in[key], &n)
	return n
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// queueName is the queue a QueueUrl names (its last path segment); the
// caller holds mu.
func (f *sqsFake) queueName(in map[string]json.RawMessage) (string, *sqsError) {
	u := str(in, "QueueUrl")
	name := u[strings.LastIndex(u, "/")+1:]
	if _, ok := f.queues[name]; !ok || !strings.HasPrefix(u, f.srv.URL+"/") {
		return "", &sqsError{400, "QueueDoesNotExist", "no queue " + u}
	}
	return name, nil
}

func (f *sqsFake) createQueue(in map[string]json.RawMessage) (any, *sqsError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := str(in, "QueueName")
	if name == "" {
		return nil, &sqsError{400, "InvalidParameterValue", "QueueName is required"}
	}
	if _, ok := f.queues[name]; !ok {
		f.queues[name] = nil
	}
	return map[string]string{"QueueUrl": f.srv.URL + "/000000000000/" + name}, nil
}

func (f *sqsFake) sendMessage(in map[string]json.RawMessage) (any, *sqsError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name, serr := f.queueName(in)
	if serr != nil {
		return nil, serr
	}
	body := str(in, "MessageBody")
	f.seq++
	m := &fakeMessage{id: fmt.Sprintf("msg-%d", f.seq), body: body}
	f.queues[name] = append(f.queues[name], m)
	close(f.wake)
	f.wake = make(chan struct{})
	return map[string]string{"MessageId": m.id, "MD5OfMessageBody": md5hex(body)}, nil
}

// receiveMessage returns up to MaxNumberOfMessages visible messages,
// making them invisible for the visibility timeout (30 s, SQS's default);
// with none visible it waits up to WaitTimeSeconds for a send.
func (f *sqsFake) receiveMessage(r *http.Request, in map[string]json.RawMessage) (any, *sqsError) {
	maxN := num(in, "MaxNumberOfMessages", 1)
	wait := num(in, "WaitTimeSeconds", 0)
	if maxN < 1 || maxN > 10 || wait < 0 || wait > 20 {
		return nil, &sqsError{400, "InvalidParameterValue", "MaxNumberOfMessages must be 1..10 and WaitTimeSeconds 0..20"}
	}
	visibility := time.Duration(num(in, "VisibilityTimeout", 30)) * time.Second
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	f.mu.Lock()
	f.waits = append(f.waits, wait)
	f.mu.Unlock()
	for {
		f.mu.Lock()
		name, serr := f.queueName(in)
		if serr != nil {
			f.mu.Unlock()
			return nil, serr
		}
		type msg struct {
			MessageId, ReceiptHandle, MD5OfBody, Body string
		}
		out := []msg{}
		now := time.Now()
		for _, m := range f.queues[name] {
			if len(out) == int(maxN) {
				break
			}
			if now.Before(m.invisibleUntil) {
				continue
			}
			f.seq++
			m.receipt = fmt.Sprintf("rh-%s-%d", m.id, f.seq)
			m.invisibleUntil = now.Add(visibility)
			out = append(out, msg{m.id, m.receipt, md5hex(m.body), m.body})
		}
		wake := f.wake
		f.mu.Unlock()
		left := time.Until(deadline)
		if len(out) > 0 || left <= 0 {
			return map[string]any{"Messages": out}, nil
		}
		select {
		case <-wake:
		case <-time.After(left):
		case <-r.Context().Done():
			return nil, &sqsError{400, "RequestCanceled", "canceled"}
		}
	}
}

func (f *sqsFake) deleteMessageBatch(in map[string]json.RawMessage) (any, *sqsError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name, serr := f.queueName(in)
	if serr != nil {
		return nil, serr
	}
	var entries []struct{ Id, ReceiptHandle string }
	if err := json.Unmarshal(in["Entries"], &entries); err != nil {
		return nil, &sqsError{400, "InvalidParameterValue", err.Error()}
	}
	switch {
	case len(entries) == 0:
		return nil, &sqsError{400, "EmptyBatchRequest", "no entries"}
	case len(entries) > 10:
		return nil, &sqsError{400, "TooManyEntriesInBatchRequest", fmt.Sprintf("%d entries, at most 10", len(entries))}
	}
	f.deletes = append(f.deletes, len(entries))
	type ok struct{ Id string }
	type failed struct {
		Id, Code, Message string
		SenderFault       bool
	}
	oks, fails := []ok{}, []failed{}
	for _, e := range entries {
		found := false
		q := f.queues[name]
		for i, m := range q {
			if m.receipt != "" && m.receipt == e.ReceiptHandle {
				f.queues[name] = append(q[:i:i], q[i+1:]...)
				found = true
				break
			}
		}
		if found {
			oks = append(oks, ok{e.Id})
		} else {
			fails = append(fails, failed{e.Id, "ReceiptHandleIsInvalid", "no message has this receipt handle", true})
		}
	}
	return map[string]any{"Successful": oks, "Failed": fails}, nil
}

// counts returns the messages of a queue that are visible and in flight
// (received, not deleted).
func (f *sqsFake) counts(name string) (visible, inFlight int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for _, m := range f.queues[name] {
		if now.Before(m.invisibleUntil) {
			inFlight++
		} else {
			visible++
		}
	}
	return visible, inFlight
}

// expireInFlight ends the visibility timeout of every received message
// now, as if it had run out: the test need not wait for it.
func (f *sqsFake) expireInFlight() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, q := range f.queues {
		for _, m := range q {
			m.invisibleUntil = time.Time{}
		}
	}
	close(f.wake) // a waiting long poll sees them at once
	f.wake = make(chan struct{})
}

// deleteBatches returns the size of each DeleteMessageBatch call so far.
func (f *sqsFake) deleteBatches() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.deletes...)
}

// receiveWaits returns the WaitTimeSeconds of each ReceiveMessage so far.
func (f *sqsFake) receiveWaits() []int32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int32(nil), f.waits...)
}
