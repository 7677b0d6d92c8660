package cli

import (
	"errors"
	"flag"
)

// watchArgs are the Java tool's v0.19 `insert --watch` options. Java ice
// long-polls an AWS SQS queue of S3 event notifications and inserts the
// ObjectCreated objects that match the insert's patterns. This ice refuses
// them, with the reason, rather than failing on an unknown flag: it has no
// SQS server that its tests can run (docs/cli.md, "Differences from the
// Java tool", says what was tried).
type watchArgs struct {
	queueURL  string
	endpoint  string
	fireOnce  bool
	debugAddr string
}

func (w *watchArgs) register(fs *flag.FlagSet) {
	fs.StringVar(&w.queueURL, "watch", "", "(Java ice: insert the files named by S3 events from this SQS queue `URL`; not supported here)")
	fs.StringVar(&w.endpoint, "watch-endpoint", "", "(Java ice: the SQS endpoint `URL` for --watch; not supported here)")
	fs.BoolVar(&w.fireOnce, "watch-fire-once", false, "(Java ice: stop --watch after one batch; not supported here)")
	fs.StringVar(&w.debugAddr, "watch-debug-addr", "", "(Java ice: serve --watch metrics on `host:port`; not supported here)")
}

// errWatchUnsupported is the refusal of every --watch option.
var errWatchUnsupported = errors.New("--watch (inserting the files named by S3 event notifications from an SQS queue) is not supported by this ice: " +
	"no SQS server speaking the AWS SDK's current JSON protocol can run in its tests; " +
	"run ice insert --no-copy --skip-duplicates for each batch of new files instead (see docs/cli.md)")

// check refuses any --watch option.
func (w *watchArgs) check() error {
	if w.queueURL != "" || w.endpoint != "" || w.fireOnce || w.debugAddr != "" {
		return errWatchUnsupported
	}
	return nil
}
