package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	ice "github.com/ice-rest-catalog/ice"
)

// CommitLocks takes the per-table commit locks of the Java
// ice-rest-catalog (its commitLock): for table ns.t of catalog c the lock
// is named "locks/v1/c/ns.t" (the catalog's name, "default" included, and
// Iceberg's dotted identifier), held by a key under that name with a lease
// of LeaseTTL, the layout of etcd's lock API (v3lock), which the Java
// server calls. Go's concurrency.Mutex makes the same keys, so a Java
// replica and this one exclude each other.
type CommitLocks struct {
	Client         *clientv3.Client
	Catalog        string
	LeaseTTL       time.Duration
	AcquireTimeout time.Duration
	Log            *slog.Logger
}

// LockName is the etcd name of table id's commit lock in catalog.
func LockName(catalog string, id ice.TableIdent) string {
	if catalog == "" {
		catalog = "default"
	}
	return "locks/v1/" + catalog + "/" + id.String()
}

// Lock takes the locks of ids in order, under one lease that is kept alive
// while they are held. If any lock is not taken within AcquireTimeout, the
// ones taken are released and the error is Unavailable (503), as in Java.
func (l *CommitLocks) Lock(ctx context.Context, ids []ice.TableIdent) (func(), error) {
	ttl := int((l.LeaseTTL + time.Second - 1) / time.Second)
	// The session outlives the request's context only through unlock: a
	// cancelled request must still release its locks.
	sess, err := concurrency.NewSession(l.Client, concurrency.WithTTL(max(ttl, 1)), concurrency.WithContext(context.WithoutCancel(ctx)))
	if err != nil {
		return nil, ice.Unavailable("commit lock: cannot grant a lease in etcd", err)
	}
	held := make([]*concurrency.Mutex, 0, len(ids))
	release := func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		for i := len(held) - 1; i >= 0; i-- {
			if err := held[i].Unlock(rctx); err != nil {
				l.log().WarnContext(rctx, "commit lock: unlock failed; the lease's revocation releases it", "lock", held[i].Key(), "err", err)
			}
		}
		// Closing the session revokes the lease, which deletes any lock key
		// left behind.
		if err := sess.Close(); err != nil {
			l.log().WarnContext(rctx, "commit lock: lease revoke failed; it expires on its own", "err", err)
		}
	}
	actx, cancel := context.WithTimeout(ctx, l.AcquireTimeout)
	defer cancel()
	for _, id := range ids {
		m := concurrency.NewMutex(sess, LockName(l.Catalog, id))
		if err := m.Lock(actx); err != nil {
			release()
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				return nil, ice.Unavailable(fmt.Sprintf("commit lock on %s not acquired within %s; retry later", id, l.AcquireTimeout), err)
			}
			if ctx.Err() != nil {
				return nil, fmt.Errorf("commit lock on %s: %w", id, ctx.Err())
			}
			return nil, ice.Unavailable(fmt.Sprintf("commit lock on %s", id), err)
		}
		held = append(held, m)
	}
	return release, nil
}

func (l *CommitLocks) log() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.Default()
}
