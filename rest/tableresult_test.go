package rest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

func TestWriteTableResult(t *testing.T) {
	md := []byte("{\"format-version\": 2,\n \"table-uuid\": \"u\"}\n") // a file's own whitespace is kept
	cases := []struct {
		name     string
		location string
		cfg      map[string]string
		creds    []storageCredential
		want     map[string]bool // top-level keys
	}{
		{"load", `s3://b/t/metadata/00001-"q".metadata.json`, map[string]string{"k": "v\"x"}, nil, map[string]bool{"metadata-location": true, "metadata": true, "config": true}},
		{"vended", "s3://b/t/m.json", map[string]string{"k": "v"}, []storageCredential{{Prefix: "s3://b/t", Config: map[string]string{"s3.access-key-id": "AK"}}},
			map[string]bool{"metadata-location": true, "metadata": true, "config": true, "storage-credentials": true}},
		{"staged create", "", map[string]string{}, nil, map[string]bool{"metadata": true, "config": true}},
		{"commit", "s3://b/t/m.json", nil, nil, map[string]bool{"metadata-location": true, "metadata": true}},
	}
	for _, tc := range cases {
		for _, bufs := range []*joinBufs{nil, {}} {
			t.Run(tc.name, func(t *testing.T) {
				rec := httptest.NewRecorder()
				var cfg []byte
				if tc.cfg != nil {
					var err error
					if cfg, err = json.Marshal(tc.cfg); err != nil {
						t.Fatal(err)
					}
				}
				writeTableResult(rec, bufs, http.StatusOK, tc.location, md, cfg, tc.creds)
				body := rec.Body.Bytes()
				if got := rec.Header().Get("Content-Length"); got != strconv.Itoa(len(body)) {
					t.Errorf("Content-Length %s, body %d bytes", got, len(body))
				}
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				var got map[string]json.RawMessage
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatalf("answer is not JSON: %v\n%s", err, body)
				}
				if len(got) != len(tc.want) {
					t.Errorf("keys %v, want %v", keys(got), tc.want)
				}
				for k := range tc.want {
					if _, ok := got[k]; !ok {
						t.Errorf("missing %q in %s", k, body)
					}
				}
				var loc string
				if tc.location != "" {
					if err := json.Unmarshal(got["metadata-location"], &loc); err != nil || loc != tc.location {
						t.Errorf("metadata-location %q (%v), want %q", loc, err, tc.location)
					}
				}
				var m map[string]any
				if err := json.Unmarshal(got["metadata"], &m); err != nil || m["table-uuid"] != "u" {
					t.Errorf("metadata %s (%v)", got["metadata"], err)
				}
				if tc.cfg != nil {
					var cfg map[string]string
					if err := json.Unmarshal(got["config"], &cfg); err != nil || len(cfg) != len(tc.cfg) || cfg["k"] != tc.cfg["k"] {
						t.Errorf("config %s (%v), want %v", got["config"], err, tc.cfg)
					}
				}
			})
		}
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
