package testenv

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// s3ReadyTimeout bounds how long versitygw may take to answer its health
// endpoint after a start.
const s3ReadyTimeout = 30 * time.Second

// S3Server is a versitygw process serving its posix backend from a
// directory under t.TempDir(), with static root credentials and path-style
// addressing.
type S3Server struct {
	Endpoint  string // http://127.0.0.1:port
	AccessKey string
	SecretKey string
	Region    string
	Root      string // backend directory: buckets are its subdirectories

	proc *Proc
}

// StartS3 starts versitygw on a free loopback port and waits until it
// answers. The process is killed when the test ends.
func StartS3(t testing.TB) *S3Server {
	t.Helper()
	bin := ToolPath(t, "versitygw")
	s := &S3Server{
		Endpoint:  fmt.Sprintf("http://127.0.0.1:%d", FreePort(t)),
		AccessKey: "testenv-access-key",
		SecretKey: "testenv-secret-key",
		Region:    "us-east-1",
		Root:      filepath.Join(t.TempDir(), "s3root"),
	}
	if err := os.Mkdir(s.Root, 0o755); err != nil {
		t.Fatalf("testenv: create s3 root: %v", err)
	}
	args := []string{
		"--port", strings.TrimPrefix(s.Endpoint, "http://"),
		"--access", s.AccessKey,
		"--secret", s.SecretKey,
		"--region", s.Region,
		"--health", "/health",
		// The posix backend keeps object metadata in xattrs, so the
		// temporary directory's filesystem must support user xattrs.
		"posix", s.Root,
	}
	s.proc = StartProc(t, ProcSpec{Name: "versitygw", Path: bin, Args: args})
	s.waitReady(t)
	return s
}

// Proc returns the server's process, e.g. to Kill or Pause it.
func (s *S3Server) Proc() *Proc { return s.proc }

// Restart stops the server and starts it again on the same port and root,
// so buckets and objects survive, then waits until it answers.
func (s *S3Server) Restart(t testing.TB) {
	t.Helper()
	s.proc.Restart(t)
	s.waitReady(t)
}

func (s *S3Server) waitReady(t testing.TB) {
	t.Helper()
	waitHealthy(t, s.proc, "versitygw", s.Endpoint+"/health", s3ReadyTimeout)
}

// CreateBucket creates bucket name through the S3 API. A bare directory
// under Root is not enough: versitygw keeps the bucket's ACL in metadata
// and rejects requests to buckets without one. Creating a bucket the root
// user already owns is not an error.
func (s *S3Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	req, err := s.NewRequest(context.Background(), http.MethodPut, "/"+name, nil)
	if err != nil {
		t.Fatalf("testenv: create bucket %s: %v", name, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("testenv: create bucket %s: %v", name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK ||
		(resp.StatusCode == http.StatusConflict && bytes.Contains(body, []byte("BucketAlreadyOwnedByYou"))) {
		return
	}
	t.Fatalf("testenv: create bucket %s: HTTP %d: %s", name, resp.StatusCode, body)
}

// NewRequest returns a request to path ("/bucket/key", path-style; a query
// may follow "?") signed with the root credentials using AWS Signature V4,
// so tests can talk S3 without an SDK.
func (s *S3Server) NewRequest(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	rawPath, rawQuery, _ := strings.Cut(path, "?")
	u, err := url.Parse(s.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("parse endpoint %q: %w", s.Endpoint, err)
	}
	u.Path = rawPath
	u.RawPath = s3EscapePath(rawPath)
	u.RawQuery = rawQuery
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", method, path, err)
	}
	signV4(req, body, s.AccessKey, s.SecretKey, s.Region, time.Now())
	return req, nil
}

// signV4 adds AWS Signature Version 4 headers for the s3 service. It covers
// what tests need: a fully buffered body and the host, x-amz-date and
// x-amz-content-sha256 headers plus any x-amz-* headers already set.
func signV4(req *http.Request, body []byte, accessKey, secretKey, region string, now time.Time) {
	now = now.UTC()
	amzDate := now.Format("20060102T150405Z")
	day := now.Format("20060102")
	payloadHash := sha256Hex(body)
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)

	headers := map[string]string{"host": req.URL.Host}
	for k, v := range req.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") || lk == "content-type" || lk == "content-md5" {
			headers[lk] = strings.TrimSpace(strings.Join(v, ","))
		}
	}
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	sort.Strings(names)
	var canonHeaders strings.Builder
	for _, k := range names {
		canonHeaders.WriteString(k + ":" + headers[k] + "\n")
	}
	signedHeaders := strings.Join(names, ";")

	canonicalRequest := strings.Join([]string{
		req.Method,
		req.URL.EscapedPath(),
		canonicalQuery(req.URL.Query()),
		canonHeaders.String(),
		signedHeaders,
		payloadHash,
	}, "\n")
	scope := day + "/" + region + "/s3/aws4_request"
	stringToSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + sha256Hex([]byte(canonicalRequest))

	key := hmacSHA256([]byte("AWS4"+secretKey), day)
	for _, part := range []string{region, "s3", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	signature := hex.EncodeToString(hmacSHA256(key, stringToSign))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+accessKey+"/"+scope+
		", SignedHeaders="+signedHeaders+", Signature="+signature)
}

// canonicalQuery sorts parameters by key, then value, each escaped the
// SigV4 way; a parameter without a value signs as "key=".
func canonicalQuery(q url.Values) string {
	var pairs []string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, s3Escape(k, true)+"="+s3Escape(v, true))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// s3EscapePath escapes an object path as SigV4 expects, keeping slashes.
func s3EscapePath(p string) string { return s3Escape(p, false) }

// s3Escape percent-encodes everything but RFC 3986 unreserved characters
// (and "/" unless escapeSlash), which is stricter than net/url and is what
// SigV4 signs.
func s3Escape(s string, escapeSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/' && !escapeSlash:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
