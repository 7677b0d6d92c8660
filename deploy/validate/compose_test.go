package validate

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// There is no container engine on the test machines, so the compose
// example is checked for structure, not run: the services it must have,
// their ports, the load balancer's upstreams and the files it mounts.
var composeDir = filepath.Join(repo, "examples/docker-compose")

type composeFile struct {
	Services map[string]struct {
		Image       string         `json:"image"`
		Build       map[string]any `json:"build"`
		Ports       []string       `json:"ports"`
		Volumes     []string       `json:"volumes"`
		DependsOn   any            `json:"depends_on"`
		Environment map[string]any `json:"environment"`
	} `json:"services"`
}

func TestComposeExample(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(composeDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// sigs.k8s.io/yaml (yaml.v2 underneath) resolves the anchors and
	// merge keys (<<: *catalog) the file uses, as compose does.
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	want := []string{"etcd-0", "etcd-1", "etcd-2", "catalog-1", "catalog-2", "catalog-3", "lb", "minio", "minio-init", "clickhouse"}
	for _, name := range want {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("no service %s", name)
		}
	}
	for name, s := range c.Services {
		if s.Image == "" && s.Build == nil {
			t.Errorf("service %s has neither image nor build", name)
		}
		for _, v := range s.Volumes {
			src := strings.SplitN(v, ":", 2)[0]
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(composeDir, src)); err != nil {
					t.Errorf("service %s mounts %s, which does not exist", name, src)
				}
			}
		}
	}
	for _, p := range []struct{ service, port string }{{"lb", "5000:5000"}, {"minio", "9000:9000"}, {"clickhouse", "8123:8123"}} {
		if !slices.Contains(c.Services[p.service].Ports, p.port) {
			t.Errorf("service %s does not publish %s", p.service, p.port)
		}
	}
	for _, name := range []string{"catalog-1", "catalog-2", "catalog-3"} {
		s := c.Services[name]
		if s.Build["context"] != "../.." || len(s.Ports) != 0 {
			t.Errorf("%s: want the image built from the repository's Dockerfile and no published port (only lb is)", name)
		}
		for _, v := range []string{"ICE_REST_CATALOG_CONFIG", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "ICE_TOKEN_WRITER", "ICE_TOKEN_CLICKHOUSE"} {
			if s.Environment[v] == nil {
				t.Errorf("%s: environment lacks %s", name, v)
			}
		}
	}
	for _, name := range []string{"etcd-0", "etcd-1", "etcd-2"} {
		env := c.Services[name].Environment
		if env["ETCD_NAME"] != name || env["ETCD_AUTO_COMPACTION_MODE"] == nil || env["ETCD_QUOTA_BACKEND_BYTES"] == nil ||
			!strings.Contains(env["ETCD_INITIAL_CLUSTER"].(string), name+"=http://"+name+":2380") {
			t.Errorf("%s: etcd member settings incomplete: %v", name, env)
		}
	}

	conf, err := os.ReadFile(filepath.Join(composeDir, "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"catalog-1", "catalog-2", "catalog-3"} {
		if !regexp.MustCompile(`(?m)^\s*server\s+` + name + `:5000\b`).Match(conf) {
			t.Errorf("nginx.conf has no upstream server %s:5000", name)
		}
	}
	if !regexp.MustCompile(`(?m)^\s*listen\s+5000;`).Match(conf) {
		t.Error("nginx.conf does not listen on 5000")
	}

	cfg, err := os.ReadFile(filepath.Join(composeDir, "ice-rest-catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range References(string(cfg)) {
		if c.Services["catalog-1"].Environment[ref] == nil {
			t.Errorf("the catalog config references ${%s}, which compose.yaml does not set", ref)
		}
	}

	sql, err := os.ReadFile(filepath.Join(composeDir, "clickhouse.sql"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ENGINE = DataLakeCatalog('http://lb:5000/v1'", "catalog_type = 'rest'", "warehouse = 's3://lake/warehouse'", "storage_endpoint = 'http://minio:9000/lake'", "auth_header = 'Authorization: Bearer "} {
		if !strings.Contains(string(sql), want) {
			t.Errorf("clickhouse.sql lacks %s", want)
		}
	}
}
