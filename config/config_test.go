package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ice-rest-catalog/ice/config"
)

func env(m map[string]string) config.Env { return func(k string) string { return m[k] } }

// javaConfig uses every key the Java ice-rest-catalog's config accepts.
const javaConfig = `
addr: 0.0.0.0:5000
debugAddr: 0.0.0.0:5001
adminAddr: localhost:5002
uri: etcd:http://etcd-0:2379,http://etcd-1:2379
warehouse: s3://bucket/prefix
localFileIOBaseDir: /tmp
s3:
  endpoint: http://minio:9000
  pathStyleAccess: true
  accessKeyID: ${AK}
  secretAccessKey: ${SK}
  region: us-east-1
bearerTokens:
- name: admin
  value: ${TOKEN}
- name: reader
  value: r
  accessConfig: {readOnly: true, awsAssumeRoleARN: "arn:aws:iam::1:role/r"}
anonymousAccess:
  enabled: false
maintenanceSchedule: "every day 00:00"
snapshotTTLInDays: 7
orphanFileExpirationDays: 3
loadTableProperties: {a: b}
iceberg: {io-impl: x}
`

func TestParseJavaConfig(t *testing.T) {
	c, err := config.Parse([]byte(javaConfig), env(map[string]string{"AK": "ak", "SK": "sk", "TOKEN": "t0k"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.S3.AccessKeyID != "ak" || c.S3.SecretAccessKey != "sk" || c.BearerTokens[0].Value != "t0k" {
		t.Errorf("env not expanded: %+v %+v", c.S3, c.BearerTokens)
	}
	if got := c.EtcdEndpoints(); len(got) != 2 || got[1] != "http://etcd-1:2379" {
		t.Errorf("endpoints = %v", got)
	}
	if !c.BearerTokens[1].AccessConfig.ReadOnly || c.LoadTableProperties["a"] != "b" || c.Name != "default" {
		t.Errorf("config = %+v", c)
	}
	if ign := strings.Join(c.Ignored(), ","); strings.Contains(ign, "maintenanceSchedule") || !strings.Contains(ign, "adminAddr") {
		t.Errorf("ignored = %s", ign)
	}
}

func TestUnknownKeyIsNamed(t *testing.T) {
	_, err := config.Parse([]byte("addr: :5000\nwarehous: s3://x\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "warehous") {
		t.Fatalf("err = %v, want it to name the unknown key", err)
	}
	_, err = config.Parse([]byte("s3:\n  endpoitn: x\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "endpoitn") {
		t.Fatalf("nested unknown key: %v", err)
	}
}

func TestEnvInTypedFields(t *testing.T) {
	c, err := config.Parse([]byte("s3:\n  pathStyleAccess: ${PS}\n  region: '${R}'\nmaxRequestBodyBytes: ${MAX}\nbearerTokens:\n- name: a\n  value: ${TOK}\n"),
		env(map[string]string{"PS": "true", "R": "eu-1", "MAX": "1024", "TOK": "123"}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.S3.PathStyleAccess || c.S3.Region != "eu-1" || c.MaxRequestBodyBytes != 1024 || c.BearerTokens[0].Value != "123" {
		t.Errorf("config = %+v", c)
	}
}

func TestUnsetEnvIsAnError(t *testing.T) {
	_, err := config.Parse([]byte("bearerTokens: [{name: a, value: '${MISSING}'}]\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "MISSING") {
		t.Fatalf("err = %v", err)
	}
}

func TestDefaults(t *testing.T) {
	c, err := config.Parse([]byte("bearerTokens: [{name: a, value: b}]\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:5000" || c.DebugAddr != "0.0.0.0:5001" || c.URI != "" || !strings.HasPrefix(c.Warehouse, "file:///") {
		t.Errorf("defaults = %+v", c)
	}
	if !c.AnonymousAccess.AnonymousReadOnly() {
		t.Error("anonymous access must default to read-only, as in the Java server")
	}
	if _, err := config.Parse([]byte("uri: jdbc:sqlite:x\n"), env(nil)); err == nil {
		t.Error("jdbc uri accepted")
	}
	if _, err := config.Parse([]byte("uri: etcd:http://e:2379\n"), env(nil)); err == nil {
		t.Error("external etcd without warehouse accepted")
	}
	if _, err := config.Parse([]byte("name: a/b\n"), env(nil)); err == nil {
		t.Error("name with a slash accepted")
	}
	if _, err := config.Parse([]byte("name: t\n"), env(nil)); err == nil {
		t.Error("reserved name t accepted")
	}
	if _, err := config.Parse([]byte("uri: 'etcd:'\nwarehouse: file:///w\n"), env(nil)); err == nil {
		t.Error("uri without endpoints accepted")
	}
}

func TestSearchOrder(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	flagFile := filepath.Join(dir, "flag.yaml")
	envFile := filepath.Join(dir, "env.yaml")
	os.WriteFile(flagFile, []byte("name: fromflag\nanonymousAccess: {enabled: true}\n"), 0o600)
	os.WriteFile(envFile, []byte("name: fromenv\nanonymousAccess: {enabled: true}\n"), 0o600)
	os.WriteFile(".ice-rest-catalog.yaml", []byte("name: fromcwd\nanonymousAccess: {enabled: true}\n"), 0o600)
	e := env(map[string]string{"ICE_REST_CATALOG_CONFIG": envFile, "ICE_REST_CATALOG_CONFIG_YAML": "name: fromyaml\nanonymousAccess: {enabled: true}\n"})

	for _, tc := range []struct {
		flag string
		env  config.Env
		want string
	}{
		{flagFile, e, "fromflag"},
		{"", e, "fromenv"},
		{"", env(map[string]string{"ICE_REST_CATALOG_CONFIG_YAML": "name: fromyaml\nanonymousAccess: {enabled: true}\n"}), "fromcwd"},
	} {
		c, _, err := config.Find(tc.flag, tc.env)
		if err != nil || c.Name != tc.want {
			t.Errorf("Find(%q) = %v, %v; want %s", tc.flag, c, err, tc.want)
		}
	}
	os.Remove(".ice-rest-catalog.yaml")
	c, src, err := config.Find("", env(map[string]string{"ICE_REST_CATALOG_CONFIG_YAML": "name: fromyaml\nanonymousAccess: {enabled: true}\n"}))
	if err != nil || c.Name != "fromyaml" || src != "$ICE_REST_CATALOG_CONFIG_YAML" {
		t.Errorf("yaml env: %v %v %v", c, src, err)
	}
	c, src, err = config.Find("", env(nil))
	if err != nil || src != config.SourceNone || c.Addr != "127.0.0.1:5000" || c.AnonymousAccess.AnonymousReadOnly() {
		t.Errorf("embedded default: %+v %q %v", c, src, err)
	}
}

func TestCredentialsKeys(t *testing.T) {
	c, err := config.Parse([]byte(`
anonymousAccess: {enabled: true}
vendedCredentials:
  sts: {endpoint: "http://minio:9000", roleARN: "arn:aws:iam::1:role/r", durationSeconds: 900}
  staticKeys: true
remoteSigning: {enabled: true, signerURI: "https://catalog"}
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if !c.STSEnabled() || !c.VendedCredentials.StaticKeys || !c.RemoteSigning.Enabled || c.RemoteSigning.SignerURI != "https://catalog" {
		t.Errorf("parsed %+v %+v", c.VendedCredentials, c.RemoteSigning)
	}
	if c, _ := config.Parse([]byte("bearerTokens: [{name: a, value: b, accessConfig: {awsAssumeRoleARN: arn}}]"), func(string) string { return "" }); !c.STSEnabled() || len(c.Ignored()) != 0 {
		t.Errorf("a token's awsAssumeRoleARN should turn STS on and no longer be ignored: %v", c.Ignored())
	}
	if _, err := config.Parse([]byte("vendedCredentials: {sts: {roleARN: r, durationSeconds: 60}}"), func(string) string { return "" }); err == nil {
		t.Error("durationSeconds 60 accepted; STS needs at least 900")
	}
	if c, _ := config.Parse([]byte("addr: 127.0.0.1:1\nanonymousAccess: {enabled: true}"), func(string) string { return "" }); c.STSEnabled() || c.VendedCredentials.StaticKeys {
		t.Error("vending is on by default")
	}
}
