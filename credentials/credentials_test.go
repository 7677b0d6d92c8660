package credentials

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	awscreds "github.com/aws/aws-sdk-go-v2/credentials"

	ice "github.com/ice-rest-catalog/ice"
)

func TestParseLocation(t *testing.T) {
	for loc, want := range map[string]Location{
		"s3://b/wh/ns/t":   {Bucket: "b", Prefix: "wh/ns/t"},
		"s3a://b/wh/ns/t/": {Bucket: "b", Prefix: "wh/ns/t"},
		"s3://b":           {Bucket: "b"},
	} {
		got, ok, err := ParseLocation(loc)
		if err != nil || !ok || got != want {
			t.Errorf("ParseLocation(%q) = %+v, %v, %v; want %+v", loc, got, ok, err, want)
		}
	}
	if _, ok, err := ParseLocation("file:///tmp/wh/t"); ok || err != nil {
		t.Errorf("file:// location: ok=%v err=%v, want not S3 and no error", ok, err)
	}
	for _, bad := range []string{"s3:///no-bucket", "s3://b/wh/../other", "s3://b/wh/./t", "s3://b/wh/t%00"} {
		if _, _, err := ParseLocation(bad); ice.ErrorCode(err) != ice.EINVALID {
			t.Errorf("ParseLocation(%q) error = %v, want EINVALID", bad, err)
		}
	}
}

func TestContainsStopsAtTheSlash(t *testing.T) {
	l := Location{Bucket: "b", Prefix: "wh/ns/t"}
	for key, want := range map[string]bool{
		"wh/ns/t/data/f.parquet": true,
		"wh/ns/t/":               true,
		"wh/ns/t":                false,
		"wh/ns/t2/data/f":        false,
		"wh/ns/other/f":          false,
		"":                       false,
	} {
		if got := l.Contains(key); got != want {
			t.Errorf("Contains(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestSessionPolicy(t *testing.T) {
	l := Location{Bucket: "b", Prefix: "wh/ns/t"}
	var doc policyDoc
	for _, access := range []Access{ReadOnly, ReadWrite} {
		p, err := SessionPolicy(l, access)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(p), &doc); err != nil {
			t.Fatalf("policy is not JSON: %v\n%s", err, p)
		}
		obj := doc.Statement[0]
		if !slices.Equal(obj.Resource, []string{"arn:aws:s3:::b/wh/ns/t/*"}) {
			t.Errorf("%s object resource = %v", access, obj.Resource)
		}
		if got := slices.Contains(obj.Action, "s3:PutObject"); got != (access == ReadWrite) {
			t.Errorf("%s policy allows PutObject = %v", access, got)
		}
		if got := slices.Contains(obj.Action, "s3:DeleteObject"); got != (access == ReadWrite) {
			t.Errorf("%s policy allows DeleteObject = %v", access, got)
		}
		list := doc.Statement[1]
		if prefixes := list.Condition["StringLike"]["s3:prefix"]; !slices.Equal(prefixes, []string{"wh/ns/t/", "wh/ns/t/*"}) {
			t.Errorf("list prefixes = %v", prefixes)
		}
	}
	for _, wild := range []string{"wh/ns/t*", "wh/ns/t?", "wh/${aws:username}"} {
		if _, err := SessionPolicy(Location{Bucket: "b", Prefix: wild}, ReadOnly); err == nil {
			t.Errorf("SessionPolicy accepted prefix %q, which IAM would read as a pattern", wild)
		}
	}
}

func newTestSigner(t *testing.T, endpoint string) *Signer {
	t.Helper()
	s, err := NewSigner(SignerConfig{
		Credentials: awscreds.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Region:      "us-east-1", Endpoint: endpoint,
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTargetTellsPathFromVirtualHostStyle(t *testing.T) {
	custom := newTestSigner(t, "http://minio.local:9000")
	aws := newTestSigner(t, "")
	pathOnly := newTestSigner(t, "http://minio.local:9000")
	pathOnly.cfg.PathStyle = true
	cases := []struct {
		s           *Signer
		uri         string
		bucket, key string
		code        ice.Code
	}{
		{custom, "http://minio.local:9000/b/wh/t/f", "b", "wh/t/f", ""},
		{custom, "http://b.minio.local:9000/wh/t/f", "b", "wh/t/f", ""},
		{custom, "http://evil.example:9000/b/wh/t/f", "", "", ice.EFORBIDDEN},
		{pathOnly, "http://minio.local:9000/b/wh/t/f", "b", "wh/t/f", ""},
		{pathOnly, "http://b.minio.local:9000/wh/t/f", "", "", ice.EFORBIDDEN},
		{custom, "http://minio.local:9001/b/wh/t/f", "", "", ice.EFORBIDDEN},
		{custom, "ftp://minio.local:9000/b/k", "", "", ice.EINVALID},
		{aws, "https://s3.amazonaws.com/b/k", "b", "k", ""},
		{aws, "https://s3.eu-west-1.amazonaws.com/b/k", "b", "k", ""},
		{aws, "https://my.dotted.bucket.s3.eu-west-1.amazonaws.com/k/x", "my.dotted.bucket", "k/x", ""},
		{aws, "https://b.s3-eu-west-1.amazonaws.com/k", "b", "k", ""},
		{aws, "https://b.s3.dualstack.us-east-1.amazonaws.com/k", "b", "k", ""},
		{aws, "https://b.example.com/k", "", "", ice.EFORBIDDEN},
	}
	for _, c := range cases {
		u, _ := url.Parse(c.uri)
		bucket, key, err := c.s.Target(u)
		if c.code != "" {
			if ice.ErrorCode(err) != c.code {
				t.Errorf("Target(%s) error = %v, want %s", c.uri, err, c.code)
			}
			continue
		}
		if err != nil || bucket != c.bucket || key != c.key {
			t.Errorf("Target(%s) = %q, %q, %v; want %q, %q", c.uri, bucket, key, err, c.bucket, c.key)
		}
	}
}

func TestSignOnlyInsideTheLocation(t *testing.T) {
	s := newTestSigner(t, "http://127.0.0.1:9000")
	loc := Location{Bucket: "b", Prefix: "wh/ns/t"}
	ep := "http://127.0.0.1:9000"
	deleteBody := func(keys ...string) *string {
		var b strings.Builder
		b.WriteString("<Delete>")
		for _, k := range keys {
			b.WriteString("<Object><Key>" + k + "</Key></Object>")
		}
		b.WriteString("</Delete>")
		v := b.String()
		return &v
	}
	cases := []struct {
		name   string
		access Access
		req    SignRequest
		code   ice.Code // "" means signed
	}{
		{"get inside", ReadOnly, SignRequest{Method: "GET", URI: ep + "/b/wh/ns/t/data/f.parquet"}, ""},
		{"put inside", ReadWrite, SignRequest{Method: "PUT", URI: ep + "/b/wh/ns/t/data/f.parquet"}, ""},
		{"virtual host inside", ReadWrite, SignRequest{Method: "PUT", URI: "http://b.127.0.0.1:9000/wh/ns/t/f"}, ""},
		{"multipart part", ReadWrite, SignRequest{Method: "PUT", URI: ep + "/b/wh/ns/t/f?partNumber=1&uploadId=x"}, ""},
		{"list inside", ReadOnly, SignRequest{Method: "GET", URI: ep + "/b?list-type=2&prefix=wh/ns/t/"}, ""},
		{"delete objects inside", ReadWrite, SignRequest{Method: "POST", URI: ep + "/b?delete", Body: deleteBody("wh/ns/t/a", "wh/ns/t/b")}, ""},
		{"put with read-only access", ReadOnly, SignRequest{Method: "PUT", URI: ep + "/b/wh/ns/t/f"}, ice.EFORBIDDEN},
		{"delete with read-only access", ReadOnly, SignRequest{Method: "DELETE", URI: ep + "/b/wh/ns/t/f"}, ice.EFORBIDDEN},
		{"sibling table", ReadWrite, SignRequest{Method: "PUT", URI: ep + "/b/wh/ns/t2/f"}, ice.EFORBIDDEN},
		{"other bucket", ReadWrite, SignRequest{Method: "GET", URI: ep + "/other/wh/ns/t/f"}, ice.EFORBIDDEN},
		{"dot-dot", ReadWrite, SignRequest{Method: "PUT", URI: ep + "/b/wh/ns/t/../other/f"}, ice.EFORBIDDEN},
		{"encoded dot-dot", ReadWrite, SignRequest{Method: "PUT", URI: ep + "/b/wh/ns/t/%2e%2e/other/f"}, ice.EFORBIDDEN},
		{"the prefix itself", ReadWrite, SignRequest{Method: "PUT", URI: ep + "/b/wh/ns/t"}, ice.EFORBIDDEN},
		{"bucket root", ReadWrite, SignRequest{Method: "PUT", URI: ep + "/b"}, ice.EFORBIDDEN},
		{"acl subresource", ReadWrite, SignRequest{Method: "PUT", URI: ep + "/b/wh/ns/t/f?acl"}, ice.EFORBIDDEN},
		{"copy from elsewhere", ReadWrite, SignRequest{Method: "PUT", URI: ep + "/b/wh/ns/t/f", Headers: map[string][]string{"x-amz-copy-source": {"/b/wh/ns/other/f"}}}, ice.EFORBIDDEN},
		{"list outside", ReadOnly, SignRequest{Method: "GET", URI: ep + "/b?list-type=2&prefix=wh/ns/"}, ice.EFORBIDDEN},
		{"list sibling", ReadOnly, SignRequest{Method: "GET", URI: ep + "/b?list-type=2&prefix=wh/ns/t"}, ice.EFORBIDDEN},
		{"delete objects outside", ReadWrite, SignRequest{Method: "POST", URI: ep + "/b?delete", Body: deleteBody("wh/ns/t/a", "wh/ns/other/b")}, ice.EFORBIDDEN},
		{"delete objects read-only", ReadOnly, SignRequest{Method: "POST", URI: ep + "/b?delete", Body: deleteBody("wh/ns/t/a")}, ice.EFORBIDDEN},
		{"host header mismatch", ReadOnly, SignRequest{Method: "GET", URI: ep + "/b/wh/ns/t/f", Headers: map[string][]string{"Host": {"other.bucket.host"}}}, ice.EFORBIDDEN},
		{"signed streaming payload", ReadWrite, SignRequest{Method: "PUT", URI: ep + "/b/wh/ns/t/f", Headers: map[string][]string{"X-Amz-Content-Sha256": {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}}}, ice.EINVALID},
		{"gcs provider", ReadOnly, SignRequest{Method: "GET", URI: ep + "/b/wh/ns/t/f", Provider: "gcs"}, ice.EINVALID},
	}
	for _, c := range cases {
		res, err := s.Sign(context.Background(), loc, c.access, c.req)
		if c.code != "" {
			if ice.ErrorCode(err) != c.code {
				t.Errorf("%s: error = %v, want %s", c.name, err, c.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		auth := strings.Join(res.Headers["Authorization"], "")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKID/20260102/us-east-1/s3/aws4_request") {
			t.Errorf("%s: Authorization = %q", c.name, auth)
		}
		if res.Headers["X-Amz-Date"] == nil || res.Headers["X-Amz-Content-Sha256"] == nil {
			t.Errorf("%s: signed headers lack X-Amz-Date or X-Amz-Content-Sha256: %v", c.name, res.Headers)
		}
	}
}

func TestSignDeleteObjectsSignsTheCheckedBody(t *testing.T) {
	s := newTestSigner(t, "http://127.0.0.1:9000")
	body := "<Delete><Object><Key>wh/ns/t/a</Key></Object></Delete>"
	res, err := s.Sign(context.Background(), Location{Bucket: "b", Prefix: "wh/ns/t"}, ReadWrite,
		SignRequest{Method: "POST", URI: "http://127.0.0.1:9000/b?delete", Body: &body})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Headers["X-Amz-Content-Sha256"]; len(got) != 1 || got[0] == "UNSIGNED-PAYLOAD" {
		t.Errorf("DeleteObjects payload hash = %v, want the body's SHA-256 so the body cannot be swapped", got)
	}
	claimed := map[string][]string{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}
	if _, err := s.Sign(context.Background(), Location{Bucket: "b", Prefix: "wh/ns/t"}, ReadWrite,
		SignRequest{Method: "POST", URI: "http://127.0.0.1:9000/b?delete", Body: &body, Headers: claimed}); ice.ErrorCode(err) != ice.EINVALID {
		t.Errorf("DeleteObjects with an unsigned payload claim: error = %v, want EINVALID", err)
	}
}
