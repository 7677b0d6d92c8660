package warehouse_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/warehouse"
)

// BenchmarkS3Write compares the catalog's metadata write with a bare signed
// PUT of the same bytes to the same server: the difference is what the S3
// client stack costs a commit.
func BenchmarkS3Write(b *testing.B) {
	s3 := testenv.StartS3(b)
	s3.CreateBucket(b, "bench")
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, warehouse.Config{Location: "s3://bench/w", S3: warehouse.S3Config{
		Endpoint: s3.Endpoint, PathStyleAccess: true, AccessKeyID: s3.AccessKey, SecretAccessKey: s3.SecretKey, Region: s3.Region}})
	if err != nil {
		b.Fatal(err)
	}
	defer wh.Close()
	body := bytes.Repeat([]byte("x"), 30_000)
	b.Run("catalog", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		i := 0
		for b.Loop() {
			i++
			if err := wh.WriteFile(ctx, fmt.Sprintf("s3://bench/w/c/%d", i), body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		i := 0
		for b.Loop() {
			i++
			req, err := s3.NewRequest(ctx, http.MethodPut, fmt.Sprintf("/bench/w/b/%d", i), body)
			if err != nil {
				b.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatal(resp.Status)
			}
		}
	})
}
