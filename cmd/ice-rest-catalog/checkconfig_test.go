package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ice-rest-catalog/ice/internal/testenv"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckConfigReportsEveryProblemWithLines(t *testing.T) {
	p := writeConfig(t, `uri: etcd:http://etcd-0:2379
warehouse: s3://lake/w
adress: 0.0.0.0:5000
s3:
  endpoint: http://minio:9000
  pathStyle: true
shutdownGracePeriod: soon
`)
	var out bytes.Buffer
	err := checkConfig([]string{p}, &out)
	if err == nil {
		t.Fatalf("check-config accepted a bad config; printed %q", out.String())
	}
	for _, want := range []string{
		"line 3: field adress is not a known config key in Config",
		"line 6: field pathStyle is not a known config key in S3",
		"line 7: cannot unmarshal !!str `soon` into time.Duration",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
}

func TestCheckConfigFindsValuesStartUpWouldReject(t *testing.T) {
	p := writeConfig(t, `uri: etcd:etcd-0:2379
warehouse: gs://lake
addr: 5000
debugAddr: 0.0.0.0:5001
bearerTokens:
  - name: writer
`)
	err := checkConfig([]string{p}, &bytes.Buffer{})
	if err == nil {
		t.Fatal("check-config accepted bad values")
	}
	for _, want := range []string{
		`addr "5000" is not host:port`,
		`uri: etcd endpoint "etcd-0:2379" is not http://host:port`,
		`warehouse "gs://lake": scheme must be s3:// or file://`,
		`bearerTokens[0] (writer): value is empty`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
}

func TestCheckConfigUnsetVariable(t *testing.T) {
	p := writeConfig(t, "warehouse: s3://lake/w\nuri: etcd:http://e:2379\nbearerTokens:\n  - name: w\n    value: ${ICE_TEST_UNSET_TOKEN}\n")
	err := checkConfig([]string{p}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "line 5: environment variable ICE_TEST_UNSET_TOKEN is not set") {
		t.Fatalf("unset variable: %v", err)
	}
}

func TestCheckConfigAcceptsAGoodConfig(t *testing.T) {
	t.Setenv("ICE_TEST_TOKEN", "secret")
	p := writeConfig(t, "warehouse: s3://lake/w\nuri: etcd:http://e:2379\nshutdownGracePeriod: 30s\nadminAddr: 0.0.0.0:5002\n"+
		"bearerTokens:\n  - name: w\n    value: ${ICE_TEST_TOKEN}\n")
	var out bytes.Buffer
	if err := checkConfig([]string{p}, &out); err != nil {
		t.Fatalf("good config rejected: %v", err)
	}
	for _, want := range []string{"OK: etcd http://e:2379", "shutdownGracePeriod 30s", "note: adminAddr is accepted"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if err := checkConfig(nil, &out); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("no FILE: %v, want usage", err)
	}
}

// TestShippedConfigsPass runs check-config on the config files the
// deployment examples ship, with their ${VAR} references set.
func TestShippedConfigsPass(t *testing.T) {
	for _, v := range []string{"S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "ICE_TOKEN_WRITER", "ICE_TOKEN_CLICKHOUSE"} {
		t.Setenv(v, "test-"+v)
	}
	files := map[string]string{}
	compose, err := os.ReadFile("../../examples/docker-compose/ice-rest-catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files["compose"] = string(compose)
	manifests, err := os.ReadFile("../../deploy/kubernetes/catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(manifests), "\n---\n") {
		var secret struct {
			Kind       string            `yaml:"kind"`
			StringData map[string]string `yaml:"stringData"`
		}
		if err := yaml.Unmarshal([]byte(doc), &secret); err != nil {
			t.Fatal(err)
		}
		if cfg, ok := secret.StringData[".ice-rest-catalog.yaml"]; ok && secret.Kind == "Secret" {
			files["kubernetes"] = cfg
		}
	}
	if len(files) != 2 {
		t.Fatalf("found the configs of %v only", files)
	}
	for name, text := range files {
		var out bytes.Buffer
		if err := checkConfig([]string{writeConfig(t, text)}, &out); err != nil {
			t.Errorf("%s config: %v", name, err)
		}
	}
}

// TestBackupDocConfigPasses: the config docs/backup.md gives for a restored
// embedded default passes the validation start-up runs (server/backup_test.go
// also starts a server on it), and the same config without its
// anonymousAccess is refused with the reason the page gives.
func TestBackupDocConfigPasses(t *testing.T) {
	text := testenv.DocBlock(t, testenv.RepoFile(t, "docs/backup.md"), "yaml", "restored.yaml")
	var out bytes.Buffer
	if err := checkConfig([]string{writeConfig(t, text)}, &out); err != nil {
		t.Fatalf("docs/backup.md restored.yaml: %v", err)
	}
	noAnon := text[:strings.Index(text, "anonymousAccess:")]
	if err := checkConfig([]string{writeConfig(t, noAnon)}, &out); err == nil || !strings.Contains(err.Error(), "anonymousAccess is off") {
		t.Errorf("without anonymousAccess: %v", err)
	}
}
