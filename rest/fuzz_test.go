package rest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/view"

	ice "github.com/ice-rest-catalog/ice"
)

// FuzzParseNamespace: the {namespace} path segment either parses into
// levels that are each valid (non-empty, no '/', '.' or NUL, so the etcd
// key is unambiguous) and join back into the segment (with 0x1F, or with
// '.' for a segment without 0x1F: ClickHouse's nested form), or it is a 400.
func FuzzParseNamespace(f *testing.F) {
	for _, s := range []string{"a", "a\x1fb", "", "\x1f", "a.b", "a/b", "a\x00", "sales\x1feu-west\x1f2024"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ns, err := parseNamespace(s)
		if err != nil {
			if ice.ErrorCode(err) != ice.EINVALID {
				t.Fatalf("parseNamespace(%q) failed with %v, want an EINVALID error", s, err)
			}
			return
		}
		// One segment with dots is ClickHouse's form of nested levels.
		dotted := !strings.Contains(s, "\x1f") && strings.Join(ns, ".") == s
		if got := strings.Join(ns, "\x1f"); got != s && !dotted {
			t.Fatalf("parseNamespace(%q) = %q, which joins back to %q", s, ns, got)
		}
		for _, level := range ns {
			if level == "" || strings.ContainsAny(level, "/.\x00") {
				t.Fatalf("parseNamespace(%q) accepted level %q", s, level)
			}
		}
	})
}

// FuzzDecodeRequests feeds one body to the decoder of every request type
// the API takes. Whatever the body, decoding is an answer: a value or an
// EINVALID (400), never a panic or another error class.
func FuzzDecodeRequests(f *testing.F) {
	for _, s := range []string{
		`{"namespace":["a"],"properties":{"k":"v"}}`,
		`{"name":"t","schema":{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"id","type":"long","required":true}]}}`,
		`{"requirements":[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":1}],"updates":[{"action":"set-properties","updates":{"a":"b"}}]}`,
		`{"table-changes":[{"identifier":{"namespace":["a"],"name":"t"},"requirements":[],"updates":[{"action":"remove-properties","removals":["a"]}]}]}`,
		`{"source":{"namespace":["a"],"name":"t"},"destination":{"namespace":["b"],"name":"t"}}`,
		`{"updates":[{"action":"add-snapshot","snapshot":{"snapshot-id":1,"timestamp-ms":0,"manifest-list":"s3://b/m.avro","summary":{"operation":"append"}}}]}`,
		`{"updates":[{"action":"bogus"}]}`, `null`, `[]`, `{"requirements":[{"type":"assert-create"}]}`,
	} {
		f.Add([]byte(s))
	}
	targets := []func() any{
		func() any { return &createNamespaceRequest{} },
		func() any { return &updateNamespacePropertiesRequest{} },
		func() any { return &createTableRequest{} },
		func() any { return &commitRequest[table.Requirements, table.Updates]{} },
		func() any { return &registerRequest{} },
		func() any { return &renameRequest{} },
		func() any { return &commitTransactionRequest{} },
		func() any { return &createViewRequest{} },
		func() any { return &commitRequest[view.Requirements, view.Updates]{} },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range targets {
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			v := target()
			if err := (&input{src: r.Body}).decode(v); err != nil && ice.ErrorCode(err) != ice.EINVALID {
				t.Fatalf("decode(%T) of %q: %v, want EINVALID", v, body, err)
			}
		}
	})
}
