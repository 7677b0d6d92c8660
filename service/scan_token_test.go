package service

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"

	ice "github.com/ice-rest-catalog/ice"
)

func TestPlanTaskTokens(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	snap := int64(42)
	pt := planTask{Namespace: []string{"db"}, Table: "t", Location: "file:///w/m.json",
		Scan:   scanSpec{SnapshotID: &snap, Filter: []byte(`{"type":"eq","term":"id","value":1}`), CaseSensitive: true},
		Offset: 10, Count: 5, Expires: now.Add(time.Hour).Unix()}
	tok, err := sealPlanTask(key, pt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := openPlanTask(key, tok, now)
	if err != nil {
		t.Fatalf("open a fresh token: %v", err)
	}
	if got.Location != pt.Location || got.Offset != 10 || got.Count != 5 || *got.Scan.SnapshotID != 42 || got.table().String() != "db.t" {
		t.Errorf("round trip: got %+v, want %+v", got, pt)
	}

	parts := strings.Split(tok, ".")
	forged, _ := sealPlanTask([]byte("another key, another catalog...."), pt)
	for name, bad := range map[string]string{
		"other key":      forged,
		"payload edited": parts[0] + "." + parts[1][:len(parts[1])-2] + "AA." + parts[2],
		"no signature":   parts[0] + "." + parts[1],
		"other version":  "pt0." + parts[1] + "." + parts[2],
		"empty":          "",
	} {
		if _, err := openPlanTask(key, bad, now); ice.ErrorCode(err) != ice.ENOTFOUND {
			t.Errorf("%s: %v; want NoSuchPlanTask", name, err)
		}
	}
	if _, err := openPlanTask(key, tok, now.Add(2*time.Hour)); ice.ErrorCode(err) != ice.ENOTFOUND {
		t.Errorf("expired token: %v; want NoSuchPlanTask", err)
	}
}

func TestPlanCacheBoundsFiles(t *testing.T) {
	c := newPlanCache(10)
	scan := func(files int) *plannedScan { return &plannedScan{files: make([]table.FileScanTask, files)} }
	c.put("a", scan(4)) // weight 5
	c.put("b", scan(3)) // weight 4
	if _, ok := c.get("a"); !ok {
		t.Fatal("a missing")
	}
	c.put("c", scan(2)) // weight 3: evicts the least recently used, b
	if _, ok := c.get("b"); ok {
		t.Error("b should have been evicted")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s should be cached", k)
		}
	}
	c.put("huge", scan(50))
	if _, ok := c.get("huge"); ok || c.lru.Stats().Weight > 10 {
		t.Errorf("a plan larger than the bound is not cached (files held %d)", c.lru.Stats().Weight)
	}
}
