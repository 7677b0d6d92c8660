package service

import (
	"context"
	"slices"
	"strings"

	ice "github.com/ice-rest-catalog/ice"
)

// CommitLocker takes per-table locks that other catalog servers on the same
// etcd also take around their commits: the Java ice-rest-catalog's optional
// commitLock. Our commits do not need it (each is one compare-and-swap);
// it keeps a mixed fleet of Java and Go replicas from contending.
type CommitLocker interface {
	// Lock takes the lock of every table in ids, in the given order, and
	// returns the function that releases them all. On error nothing is held.
	Lock(ctx context.Context, ids []ice.TableIdent) (unlock func(), err error)
}

// lockTables takes the commit locks of the tables a commit changes, in the
// order Java ice takes them (sorted by "ns.table"), so that two multi-table
// commits never wait on each other in a cycle. Without a locker it holds
// nothing.
func (s *Service) lockTables(ctx context.Context, changes []TableChange) (func(), error) {
	if s.locker == nil {
		return func() {}, nil
	}
	ids := make([]ice.TableIdent, 0, len(changes))
	for _, ch := range changes {
		ids = append(ids, ch.ID)
	}
	slices.SortFunc(ids, func(a, b ice.TableIdent) int { return strings.Compare(a.String(), b.String()) })
	ids = slices.CompactFunc(ids, func(a, b ice.TableIdent) bool { return a.String() == b.String() })
	return s.locker.Lock(ctx, ids)
}
