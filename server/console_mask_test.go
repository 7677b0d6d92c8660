package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ice-rest-catalog/ice/config"
)

// TestMaskedConfigHidesSecrets proves that no secret of a config reaches
// the console's Server page, and that what is not secret stays readable.
func TestMaskedConfigHidesSecrets(t *testing.T) {
	secrets := map[string]string{"S3_SECRET": "s3-secret-value", "S3_KEY": "AKIAEXAMPLE", "TOKEN": "tok-value-1",
		"ETCD_PW": "etcd-password", "SIGN": "c2lnbmluZy1rZXktYmFzZTY0LXZhbHVlLTMyLWJ5dGVz", "HASH": "sha256:abababababababababababababababababababababababababababababababab"}
	text := `
warehouse: s3://bucket/wh
s3: {endpoint: "http://minio:9000", accessKeyID: "${S3_KEY}", secretAccessKey: "${S3_SECRET}", region: us-east-1}
bearerTokens:
  - {name: etl, value: "${TOKEN}"}
etcd: {username: root, password: "${ETCD_PW}"}
oauth: {signingKey: "${SIGN}", clients: [{id: ch, secretHash: "${HASH}"}]}
tls: {certFile: /etc/tls.crt, keyFile: /etc/tls.key}
`
	cfg, err := config.Parse([]byte(text), func(k string) string { return secrets[k] })
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(maskedConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for k, v := range secrets {
		if strings.Contains(out, v) {
			t.Errorf("secret %s (%q) is shown: %s", k, v, out)
		}
	}
	for _, want := range []string{"http://minio:9000", "etl", "/etc/tls.key", "us-east-1", "s3://bucket/wh"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q is masked or missing: %s", want, out)
		}
	}
}
