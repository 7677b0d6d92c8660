package etcd_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// Concurrent creates at nested locations (each one's location inside the
// previous one's): the location index lets exactly one of each
// overlapping set win, whatever the interleaving.
func TestLocationClaimsUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	s := etcd.NewStore(testenv.EtcdClient(t), "default")
	ns := ice.Namespace{"a"}
	if err := s.CreateNamespace(ctx, ns, nil); err != nil {
		t.Fatal(err)
	}
	loc := "s3://lake/wh/a/t/"
	var locs []string
	for i := 0; i < 8; i++ {
		locs = append(locs, loc)
		loc += fmt.Sprintf("d%d/", i)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(locs))
	for i, l := range locs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.SwapTables(ctx, []ice.TableSwap{{ID: ice.TableIdent{Namespace: ns, Name: fmt.Sprint("t", i)},
				NewLocation: l + "metadata/0.metadata.json", ClaimLocation: l}}, nil)

		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case ice.ErrorCode(err) != ice.EINVALID:
			t.Errorf("create %d: %v, want EINVALID (overlap)", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d overlapping creates won, want 1: %v", won, errs)
	}
	// A sibling does not overlap.
	if err := s.SwapTables(ctx, []ice.TableSwap{{ID: ice.TableIdent{Namespace: ns, Name: "sib"},
		NewLocation: "s3://lake/wh/a/t2/metadata/0.metadata.json", ClaimLocation: "s3://lake/wh/a/t2/"}}, nil); err != nil {
		t.Fatalf("sibling: %v", err)
	}
}
