package server

import (
	"testing"

	"github.com/ice-rest-catalog/ice/config"
)

// TestClientEndpointEndsInSlash: the s3.endpoint loadTable hands clients
// ends in exactly one "/", whatever the config says, also when it comes from
// loadTableProperties; ClickHouse needs it (docs/clients.md).
func TestClientEndpointEndsInSlash(t *testing.T) {
	for in, want := range map[string]string{
		"http://minio:9000":        "http://minio:9000/",
		"http://minio:9000/":       "http://minio:9000/",
		"http://minio:9000//":      "http://minio:9000/",
		"https://s3.example.com/x": "https://s3.example.com/x/",
	} {
		base, _ := tableConfig(&config.Config{S3: config.S3{Endpoint: in}})
		if got := base["s3.endpoint"]; got != want {
			t.Errorf("endpoint %q: s3.endpoint = %q, want %q", in, got, want)
		}
	}
	base, _ := tableConfig(&config.Config{LoadTableProperties: map[string]string{"s3.endpoint": "http://other:9000"}})
	if got := base["s3.endpoint"]; got != "http://other:9000/" {
		t.Errorf("loadTableProperties endpoint: %q", got)
	}
	if base, _ := tableConfig(&config.Config{}); base["s3.endpoint"] != "" {
		t.Errorf("no endpoint configured, got %q", base["s3.endpoint"])
	}
}
