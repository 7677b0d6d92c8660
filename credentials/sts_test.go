package credentials_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awscreds "github.com/aws/aws-sdk-go-v2/credentials"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/credentials"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// countingSTS puts a proxy in front of MinIO's STS that counts the calls
// reaching it, so the test sees which Vend calls went to STS.
func countingSTS(t *testing.T, m *testenv.MinIO) (endpoint string, calls *atomic.Int64) {
	t.Helper()
	target, err := url.Parse(m.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	calls = &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		// SigV4 signs the Host header: forward it as the client sent it.
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, calls
}

func TestVendorCachesUntilNearExpiry(t *testing.T) {
	m := testenv.StartMinIO(t)
	endpoint, calls := countingSTS(t, m)
	var now atomic.Pointer[time.Time]
	start := time.Now()
	now.Store(&start)
	v, err := credentials.NewVendor(credentials.STSConfig{
		Endpoint: endpoint, Region: m.Region, RoleARN: "arn:minio:iam:::role/test",
		RoleARNs:    map[string]string{"token:other": "arn:minio:iam:::role/other"},
		Duration:    15 * time.Minute,
		Credentials: awscreds.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, ""),
		Now:         func() time.Time { return *now.Load() },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	loc := credentials.Location{Bucket: "lake", Prefix: "wh/ns/t"}

	// Concurrent loads of one table share one AssumeRole call.
	const n = 8
	keys := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := v.Vend(ctx, loc, credentials.ReadWrite, "token:a")
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = c.AccessKeyID
		}()
	}
	wg.Wait()
	if got := calls.Load(); got != 1 {
		t.Fatalf("%d concurrent vends made %d STS calls, want 1", n, got)
	}
	for _, k := range keys[1:] {
		if k != keys[0] {
			t.Fatalf("concurrent vends got different keys: %v", keys)
		}
	}

	// Another principal with the same role shares the entry; other access,
	// location or role does not.
	if c, _ := v.Vend(ctx, loc, credentials.ReadWrite, "token:b"); c.AccessKeyID != keys[0] || calls.Load() != 1 {
		t.Errorf("same role, location and access: new keys or STS call (calls %d)", calls.Load())
	}
	if _, err := v.Vend(ctx, loc, credentials.ReadOnly, "token:a"); err != nil || calls.Load() != 2 {
		t.Errorf("read-only access: err %v, calls %d, want a second call", err, calls.Load())
	}
	if _, err := v.Vend(ctx, credentials.Location{Bucket: "lake", Prefix: "wh/ns/t2"}, credentials.ReadWrite, "token:a"); err != nil || calls.Load() != 3 {
		t.Errorf("other table: err %v, calls %d, want a third call", err, calls.Load())
	}
	if _, err := v.Vend(ctx, loc, credentials.ReadWrite, "token:other"); err != nil || calls.Load() != 4 {
		t.Errorf("principal with its own role: err %v, calls %d, want a fourth call", err, calls.Load())
	}

	// Near expiry (within the 5-minute margin of a 15-minute credential)
	// the cached keys are replaced.
	later := start.Add(11 * time.Minute)
	now.Store(&later)
	c, err := v.Vend(ctx, loc, credentials.ReadWrite, "token:a")
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID == keys[0] || calls.Load() != 5 {
		t.Errorf("near expiry: keys reused (%v) or no new STS call (calls %d)", c.AccessKeyID == keys[0], calls.Load())
	}
}

func TestVendorReportsSTSFailureAsUnavailable(t *testing.T) {
	m := testenv.StartMinIO(t)
	v, err := credentials.NewVendor(credentials.STSConfig{
		Endpoint: m.Endpoint, Region: m.Region, RoleARN: "arn:minio:iam:::role/test",
		Credentials: awscreds.NewStaticCredentialsProvider(m.AccessKey, "wrong-secret", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Vend(context.Background(), credentials.Location{Bucket: "lake", Prefix: "t"}, credentials.ReadOnly, "anonymous")
	if ice.ErrorCode(err) != ice.EUNAVAILABLE {
		t.Fatalf("Vend with bad catalog keys: %v, want EUNAVAILABLE", err)
	}
	if v.Cached() != 0 {
		t.Errorf("a failure was cached")
	}
}

// BenchmarkVend compares a load served from the cache with one that calls
// STS (MinIO on loopback): the cost the cache saves per loadTable.
func BenchmarkVend(b *testing.B) {
	m := testenv.StartMinIO(b)
	v, err := credentials.NewVendor(credentials.STSConfig{
		Endpoint: m.Endpoint, Region: m.Region, RoleARN: "arn:minio:iam:::role/bench",
		Credentials: awscreds.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, ""),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	loc := credentials.Location{Bucket: "lake", Prefix: "wh/ns/t"}
	b.Run("cached", func(b *testing.B) {
		if _, err := v.Vend(ctx, loc, credentials.ReadWrite, "bench"); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := v.Vend(ctx, loc, credentials.ReadWrite, "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sts", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			// A new table each time: every call goes to STS.
			l := credentials.Location{Bucket: "lake", Prefix: "wh/ns/t" + strconv.Itoa(i)}
			if _, err := v.Vend(ctx, l, credentials.ReadWrite, "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
