package etcd

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// OAuthSigningKeyKey is where the OAuth token signing key lives when the
// config does not give one, under the catalog's prefix.
func OAuthSigningKeyKey(catalogName string) string {
	return newKeys(catalogName).prefix + "auth/oauth-signing-key"
}

// LoadOrCreateSecret returns the value at key. If there is none it stores
// fresh there, in one transaction that succeeds only while the key is
// absent, so replicas starting together all end up with the first one
// written.
func LoadOrCreateSecret(ctx context.Context, cli *clientv3.Client, key string, fresh []byte) ([]byte, error) {
	resp, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(fresh))).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return nil, fmt.Errorf("load or create %s in etcd: %w", key, err)
	}
	if resp.Succeeded {
		return fresh, nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return nil, fmt.Errorf("load %s from etcd: deleted while read", key)
	}
	return kvs[0].Value, nil
}
