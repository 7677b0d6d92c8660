package testenv

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ice-rest-catalog/ice/etcd"
)

// StartEmbeddedEtcd starts an in-process etcd with its data under
// t.TempDir(); it stops when the test ends.
func StartEmbeddedEtcd(t testing.TB) *etcd.Embedded {
	t.Helper()
	e, err := etcd.StartEmbedded(context.Background(), filepath.Join(t.TempDir(), "etcd"), "127.0.0.1:0", DiscardLogger())
	if err != nil {
		t.Fatalf("start embedded etcd: %v", err)
	}
	t.Cleanup(e.Close)
	return e
}

// DiscardLogger is a logger for components whose logs a test does not read.
func DiscardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// EtcdClient starts an embedded etcd and returns a client connected to it;
// both close when the test ends.
func EtcdClient(t testing.TB) *clientv3.Client {
	t.Helper()
	e := StartEmbeddedEtcd(t)
	cli, err := etcd.Connect(context.Background(), clientv3.Config{Endpoints: []string{e.Endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}
