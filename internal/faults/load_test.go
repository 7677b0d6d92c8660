//go:build faults

package faults_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/ice-rest-catalog/ice/internal/faults"
)

var rowSchema = iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})

// opTimeout bounds one client call: longer than any stall a fault causes
// should be, short enough that a hung request does not eat the scenario.
const opTimeout = 10 * time.Second

// oneRow is a one-row Arrow table: each commit writes a real Parquet file,
// manifest and manifest list, as an engine's append does.
func oneRow(id int64) arrow.Table {
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(id)
	rec := b.NewRecordBatch()
	defer rec.Release()
	return array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
}

// appendOnce loads id through replica r and appends one snapshot named
// marker. Its outcome is in the history, recorded from the wire.
func (s *stack) appendOnce(r int, id table.Identifier, marker string, row int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	tbl, err := s.clients[r].LoadTable(ctx, id)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	data := oneRow(row)
	defer data.Release()
	_, err = tbl.AppendTable(ctx, data, 1, iceberg.Properties{faults.MarkerKey: marker})
	return err
}

// writers starts n writers until ctx ends, each on table ids[w%len(ids)],
// sending each append to the next replica in turn. A failed append is
// retried (as a new commit, with a new marker) after a short pause, so an
// outage does not become a busy loop. Each writer stops after maxOps.
func (s *stack) writers(ctx context.Context, n, maxOps int, ids []table.Identifier) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < maxOps && ctx.Err() == nil; i++ {
				err := s.appendOnce((w+i)%len(s.clients), ids[w%len(ids)], fmt.Sprintf("w%d-%d", w, i), int64(w*100000+i))
				if err != nil {
					select {
					case <-ctx.Done():
					case <-time.After(50 * time.Millisecond):
					}
				}
			}
		}()
	}
	return &wg
}

// recovery probes every replica with appends to its own table until each
// has acknowledged one, and returns the time from since until the last of
// them did; it gives up after bound.
func (s *stack) recovery(since time.Time, bound time.Duration, probes []table.Identifier) (time.Duration, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		worst time.Duration
		errs  []error
	)
	for r := range s.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				err := s.appendOnce(r, probes[r], fmt.Sprintf("probe-r%d-%d", r, i), int64(i))
				if err == nil {
					mu.Lock()
					worst = max(worst, time.Since(since))
					mu.Unlock()
					return
				}
				if time.Since(since) > bound {
					mu.Lock()
					errs = append(errs, fmt.Errorf("replica %d still failing after %v: %w", r, bound, err))
					mu.Unlock()
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return 0, errs[0]
	}
	return worst, nil
}

// maxStall is the longest time between two acknowledged commits (or from
// the first call to the first one) while writers ran: how long the catalog
// accepted no commit at all.
func maxStall(ops []faults.Op, until time.Duration) time.Duration {
	var acks []time.Duration
	for _, op := range ops {
		if op.Kind == faults.Commit && op.Outcome == faults.Acked && op.Return <= until {
			acks = append(acks, op.Return)
		}
	}
	sort.Slice(acks, func(i, j int) bool { return acks[i] < acks[j] })
	var worst, prev time.Duration
	if len(ops) > 0 {
		prev = ops[0].Call
	}
	for _, a := range acks {
		worst = max(worst, a-prev)
		prev = a
	}
	return max(worst, until-prev)
}
