package etcd

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Embedded is an etcd server running inside this process: the store of the
// zero-config default and of the fast tests.
type Embedded struct {
	etcd  *embed.Etcd
	close sync.Once
	// Endpoint is the client URL, for clientv3 and for etcdctl (backups).
	Endpoint string
}

// StartEmbedded starts a single-member etcd with its data in dir. clientAddr
// is host:port for clients ("127.0.0.1:0" picks a free port). The peer port
// is always a free loopback port: a single member never talks to peers.
func StartEmbedded(ctx context.Context, dir, clientAddr string, log *slog.Logger) (*Embedded, error) {
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.Name = "ice-rest-catalog"
	cfg.LogLevel = "error"
	// Its shutdown chatter (closed listeners) is noise; failures reach us through Err().
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "1h"
	clientURL := url.URL{Scheme: "http", Host: clientAddr}
	peerURL := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.Name + "=" + peerURL.String()

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd in %s: %w", dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s: %w", dir, err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s did not become ready within 60s", dir)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	endpoint := "http://" + e.Clients[0].Addr().String()
	log.Debug("embedded etcd ready", "dir", dir, "endpoint", endpoint)
	return &Embedded{etcd: e, Endpoint: endpoint}, nil
}

// Close stops the server and waits until its ports are free. It may be
// called more than once.
func (e *Embedded) Close() { e.close.Do(e.etcd.Close) }

// Connect opens a clientv3 client on endpoints and checks that it answers.
func Connect(ctx context.Context, cfg clientv3.Config) (*clientv3.Client, error) {
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	cfg.DialKeepAliveTime = 10 * time.Second
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop() // etcd client chatter would drown our slog lines
	}
	cfg.DialKeepAliveTimeout = 5 * time.Second
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %v: %w", cfg.Endpoints, err)
	}
	return cli, nil
}
