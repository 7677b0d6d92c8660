package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigSearchOrder checks the order: -c, $ICE_CONFIG, ./.ice.yaml,
// $ICE_CONFIG_YAML, none.
func TestConfigSearchOrder(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	flagFile := writeFile(t, t.TempDir(), "flag.yaml", "uri: http://flag:1\n")
	envFile := writeFile(t, t.TempDir(), "env.yaml", "uri: http://env-file:1\n")
	yamlEnv := "uri: http://env-yaml:1\n"
	env := map[string]string{"ICE_CONFIG": envFile, "ICE_CONFIG_YAML": yamlEnv}

	check := func(flagPath, want string) {
		t.Helper()
		cfg, err := LoadConfig(flagPath, envOf(env))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.URI != want {
			t.Fatalf("uri = %s (from %s), want %s", cfg.URI, cfg.Source, want)
		}
	}
	check(flagFile, "http://flag:1")
	check("", "http://env-file:1")
	delete(env, "ICE_CONFIG")
	check("", "http://env-yaml:1")
	writeFile(t, dir, ".ice.yaml", "uri: http://cwd:1\n")
	check("", "http://cwd:1")
	os.Remove(filepath.Join(dir, ".ice.yaml"))
	delete(env, "ICE_CONFIG_YAML")
	check("", DefaultURI)
	env["ICE_URI"] = "http://ice-uri:1"
	check("", "http://ice-uri:1")
	check(flagFile, "http://flag:1") // the config's uri wins over ICE_URI

	if _, err := LoadConfig(filepath.Join(dir, "missing.yaml"), envOf(env)); err == nil {
		t.Fatal("a missing -c file is not an error")
	}
}

// TestConfigKeys parses every key of the Java tool's .ice.yaml.
func TestConfigKeys(t *testing.T) {
	text := `
uri: https://catalog:5000
bearerToken: ${TOKEN}
caCrt: base64:AAAA
sslVerify: false
httpCacheDir: /tmp/cache
warehouse: s3://bucket/prefix
localFileIOBaseDir: /data
localFileIOAllowAccess: [/other]
s3:
  endpoint: http://minio:9000
  pathStyleAccess: true
  accessKeyID: ak
  secretAccessKey: sk
  region: eu-west-1
icebergProperties:
  s3.connect-timeout: "5"
`
	cfg, err := ParseConfig([]byte(text), envOf(map[string]string{"TOKEN": "secret"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BearerToken != "secret" || cfg.SSLVerify == nil || *cfg.SSLVerify || cfg.S3.Region != "eu-west-1" || !cfg.S3.PathStyleAccess ||
		cfg.IcebergProperties["s3.connect-timeout"] != "5" {
		t.Fatalf("parsed %+v", cfg)
	}
	if _, err := ParseConfig([]byte("uri: x\nbogus: 1\n"), envOf(nil)); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestProgressDrawsOnlyOnTerminal(t *testing.T) {
	var quiet bytes.Buffer
	p := newProgress(&quiet, false, 2, 100)
	p.addBytes(50)
	p.fileDone()
	p.stop()
	if quiet.Len() != 0 {
		t.Fatalf("progress wrote to a non-terminal: %q", quiet.String())
	}

	var tty bytes.Buffer
	p = newProgress(&tty, true, 2, 2<<20)
	p.addBytes(2 << 20)
	p.fileDone()
	p.fileDone()
	p.stop()
	p.stop() // twice is fine
	if out := tty.String(); !strings.Contains(out, "2/2 files") || !strings.Contains(out, "2.0/2.0 MiB") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("final progress line: %q", out)
	}
}

func TestOutputYAMLKeepsOrderAndTypes(t *testing.T) {
	var buf bytes.Buffer
	v := struct {
		B string `json:"b"`
		A string `json:"a"`
		N int    `json:"n"`
	}{"true", "x", 3}
	if err := emit(&buf, v, false); err != nil {
		t.Fatal(err)
	}
	if want := "b: \"true\"\na: x\nn: 3\n"; buf.String() != want {
		t.Fatalf("YAML = %q, want %q", buf.String(), want)
	}
}
