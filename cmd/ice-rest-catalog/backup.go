package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ice-rest-catalog/ice/server"
)

// backup writes an etcd snapshot of the catalog to --out; restore it with
// etcdutl snapshot restore (docs/backup.md).
func backup(args []string) error {
	var out string
	cfg, log, err := subcommand("backup", args, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "", "snapshot file to write (required)")
	})
	if err != nil {
		return err
	}
	if out == "" {
		return usageError{errors.New("backup: --out FILE is required")}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	n, err := server.Backup(ctx, cfg, log, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote etcd snapshot %s (%d bytes); restore it as docs/backup.md says: etcdutl snapshot restore %s --data-dir <new dataDir>/etcd --name ice-rest-catalog --initial-cluster ice-rest-catalog=http://localhost:2380 --initial-advertise-peer-urls http://localhost:2380\n", out, n, out)
	return nil
}
