package etcd_test

import (
	"context"
	"fmt"
	"testing"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// BenchmarkCommitAudit measures a one-table commit Txn with and without
// the ev/audit put that records its principal for the change feed.
func BenchmarkCommitAudit(b *testing.B) {
	for _, audited := range []bool{false, true} {
		b.Run(fmt.Sprintf("audit=%v", audited), func(b *testing.B) {
			s := etcd.NewStore(testenv.EtcdClient(b), "default")
			ctx := context.Background()
			if audited {
				ctx = ice.WithAudit(ctx, ice.Audit{Principal: "token:etl", Operation: "updateTable"})
			}
			ns := ice.Namespace{"b"}
			if err := s.CreateNamespace(ctx, ns, nil); err != nil {
				b.Fatal(err)
			}
			id := ice.TableIdent{Namespace: ns, Name: "t"}
			var ptr ice.TablePointer
			var err error
			b.ResetTimer()
			for i := range b.N {
				loc := fmt.Sprintf("s3://b/w/b/t/metadata/%05d.metadata.json", i)
				if err := s.SwapTables(ctx, []ice.TableSwap{{ID: id, Base: ptr, NewLocation: loc}}, nil); err != nil {
					b.Fatal(err)
				}
				b.StopTimer() // the next base's read is not part of the commit
				if ptr, err = s.LoadTable(context.Background(), id); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
