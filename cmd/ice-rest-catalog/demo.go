package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/rest"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"gopkg.in/yaml.v3"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/internal/demo"
	"github.com/ice-rest-catalog/ice/server"
)

// demoOpts are demo's flags: the embedded default's addresses and data
// directory, and optionally an S3 endpoint for the warehouse (so ClickHouse
// can read the tables' files).
type demoOpts struct {
	addr, debugAddr, dataDir, logLevel              string
	s3Endpoint, s3Bucket, s3Region, s3Key, s3Secret string
}

// demoMain serves the embedded default, loaded with the demo data set
// (internal/demo), until SIGTERM or SIGINT. Run again on the same data
// directory, it loads only what is missing.
func demoMain(args []string) error {
	var o demoOpts
	fs := flag.NewFlagSet("ice-rest-catalog demo", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:5000", "API listen address")
	fs.StringVar(&o.debugAddr, "debug-addr", "127.0.0.1:5001", "health and metrics listen address")
	fs.StringVar(&o.dataDir, "data-dir", "data", "embedded etcd and (without --s3-endpoint) the file:// warehouse")
	fs.StringVar(&o.logLevel, "log-level", envOr("ICE_LOG_LEVEL", "info"), "debug, info, warn or error")
	fs.StringVar(&o.s3Endpoint, "s3-endpoint", "", "S3 endpoint for the warehouse, e.g. http://127.0.0.1:9000 (versitygw, MinIO); default: a file:// warehouse")
	fs.StringVar(&o.s3Bucket, "s3-bucket", "ice-demo", "bucket of the S3 warehouse; created if missing")
	fs.StringVar(&o.s3Region, "s3-region", "us-east-1", "S3 region")
	fs.StringVar(&o.s3Key, "s3-access-key", os.Getenv("AWS_ACCESS_KEY_ID"), "S3 access key (default $AWS_ACCESS_KEY_ID)")
	fs.StringVar(&o.s3Secret, "s3-secret-key", os.Getenv("AWS_SECRET_ACCESS_KEY"), "S3 secret key (default $AWS_SECRET_ACCESS_KEY)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{fmt.Errorf("demo: %w", err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("demo: unexpected argument %q", fs.Arg(0))}
	}
	log, err := newLogger(o.logLevel)
	if err != nil {
		return err
	}
	cfg, err := demoConfig(o)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if o.s3Endpoint != "" {
		if err := ensureBucket(ctx, o); err != nil {
			return err
		}
	}
	srv, err := server.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	announce(log, cfg, "demo", srv)
	url := "http://" + srv.Addr()
	var props iceberg.Properties
	if o.s3Endpoint != "" {
		props = iceberg.Properties{icebergio.S3EndpointURL: o.s3Endpoint, icebergio.S3AccessKeyID: o.s3Key,
			icebergio.S3SecretAccessKey: o.s3Secret, icebergio.S3Region: o.s3Region}
	}
	cat, err := rest.NewCatalog(ctx, "demo", url, rest.WithAdditionalProps(props))
	if err == nil {
		var rep demo.Report
		rep, err = demo.Load(ctx, cat)
		cat.Close()
		if err == nil {
			log.Info("demo data loaded", "created", strings.Join(rep.Created, ","), "alreadyThere", strings.Join(rep.Existing, ","))
			fmt.Fprintf(os.Stderr, "\nThe demo catalog serves %s (warehouse %s). Try:\n"+
				"  ICE_URI=%s ice list-tables demo\n  ICE_URI=%s ice scan demo.orders --limit 5\n"+
				"Stop it with Ctrl-C; run it again to reuse the data, or delete %s to start over.\n\n",
				url, cfg.Warehouse, url, url, cfg.DataDir)
		}
	}
	if err != nil {
		log.Error("loading the demo data failed; shutting down", "err", err)
		stop()
		_ = serveUntilStopped(ctx, log, cfg, srv)
		return fmt.Errorf("demo: %w", err)
	}
	return serveUntilStopped(ctx, log, cfg, srv)
}

// demoConfig is the embedded default with the demo's flags, as YAML text
// through config.Parse, the validation every config passes.
func demoConfig(o demoOpts) (*config.Config, error) {
	doc := map[string]any{
		"addr": o.addr, "debugAddr": o.debugAddr, "dataDir": o.dataDir,
		"anonymousAccess": map[string]any{"enabled": true, "accessConfig": map[string]any{"readOnly": false}},
	}
	if o.s3Endpoint != "" {
		doc["warehouse"] = "s3://" + o.s3Bucket + "/warehouse"
		doc["s3"] = map[string]any{"endpoint": o.s3Endpoint, "pathStyleAccess": true, "region": o.s3Region,
			"accessKeyID": o.s3Key, "secretAccessKey": o.s3Secret}
		// ClickHouse and other clients get the catalog's keys for the
		// tables' files; fine for a local demo, not for production.
		doc["vendedCredentials"] = map[string]any{"staticKeys": true}
	}
	text, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return config.Parse(text, func(string) string { return "" })
}

// ensureBucket creates the demo's bucket unless its owner already has it.
func ensureBucket(ctx context.Context, o demoOpts) error {
	if o.s3Key == "" || o.s3Secret == "" {
		return usageError{errors.New("demo: --s3-endpoint needs --s3-access-key and --s3-secret-key (or $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY)")}
	}
	cli := s3.New(s3.Options{
		Region: o.s3Region, BaseEndpoint: aws.String(o.s3Endpoint), UsePathStyle: true,
		Credentials: awscreds.NewStaticCredentialsProvider(o.s3Key, o.s3Secret, ""),
	})
	_, err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(o.s3Bucket)})
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("demo: create bucket %s at %s: %w", o.s3Bucket, o.s3Endpoint, err)
	}
	return nil
}
