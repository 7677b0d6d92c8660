//go:build tools

// Package tools pins the external binaries that integration tests start
// (etcd, etcdctl, etcdutl, versitygw, minio and nats-server). It is a separate module so these
// heavy dependencies never enter the server's go.mod, and because the etcd
// modules carry replace directives that make a plain `go install` fail.
// scripts/install-tools.sh builds the binaries from this module.
package tools

import (
	_ "github.com/minio/minio"
	_ "github.com/nats-io/nats-server/v2"
	_ "github.com/versity/versitygw/cmd/versitygw"
	_ "go.etcd.io/etcd/etcdctl/v3"
	_ "go.etcd.io/etcd/etcdutl/v3"
	_ "go.etcd.io/etcd/server/v3"
)
