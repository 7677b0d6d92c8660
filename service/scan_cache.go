package service

import "github.com/ice-rest-catalog/ice/internal/lru"

// planCache keeps recent planning results so that the plan tasks of one
// plan, fetched one after another, do not each plan the scan again. A
// result is keyed by an immutable metadata file and the scan's inputs, so
// it can never go stale; memory is bounded by the number of files held,
// with least-recently-used eviction.
type planCache struct {
	lru *lru.Cache[string, *plannedScan]
}

func newPlanCache(maxFiles int) *planCache {
	return &planCache{lru: lru.New[string, *plannedScan](lru.Config[*plannedScan]{MaxWeight: int64(maxFiles)})}
}

func (c *planCache) get(key string) (*plannedScan, bool) { return c.lru.Get(key) }

// put keeps ps, charged a file per task and one for the plan; a plan
// larger than the bound is not kept (it would evict everything else and
// still not fit).
func (c *planCache) put(key string, ps *plannedScan) {
	c.lru.Put(key, ps, int64(len(ps.files)+1))
}
