package etcd_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/ice-rest-catalog/ice/etcd"
	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// Replicas starting at once must agree on one key: the first written wins
// and every caller gets it.
func TestLoadOrCreateSecretFirstWriterWins(t *testing.T) {
	cli := testenv.EtcdClient(t)
	key := etcd.OAuthSigningKeyKey("prod")
	if key != "prod/auth/oauth-signing-key" {
		t.Fatalf("key = %q", key)
	}
	const n = 8
	got := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := etcd.LoadOrCreateSecret(context.Background(), cli, key, []byte(fmt.Sprintf("candidate-%d", i)))
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		}()
	}
	wg.Wait()
	for i := range n {
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("caller %d got %q, caller 0 got %q", i, got[i], got[0])
		}
	}
	again, err := etcd.LoadOrCreateSecret(context.Background(), cli, key, []byte("later"))
	if err != nil || !bytes.Equal(again, got[0]) {
		t.Fatalf("a later start got %q, %v; want %q", again, err, got[0])
	}
	if etcd.OAuthSigningKeyKey("default") != "auth/oauth-signing-key" {
		t.Fatal("default catalog key has a prefix")
	}
}
