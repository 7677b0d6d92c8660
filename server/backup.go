package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/ice-rest-catalog/ice/config"
)

// Backup writes a snapshot of the catalog's etcd to out with etcd's
// maintenance Snapshot API: the whole keyspace at one revision, with the
// checksum etcdutl snapshot restore verifies. It goes through a temporary
// file and a rename, so out is never a partial snapshot.
func Backup(ctx context.Context, cfg *config.Config, log *slog.Logger, out string) (int64, error) {
	b, err := OpenBackends(ctx, cfg, log)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	rc, err := b.Client.Snapshot(ctx)
	if err != nil {
		return 0, fmt.Errorf("etcd snapshot: %w", err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(out), ".backup-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	n, err := io.Copy(tmp, rc)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("write snapshot %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return 0, err
	}
	return n, nil
}
