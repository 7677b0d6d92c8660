package credentials

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	ice "github.com/ice-rest-catalog/ice"
)

// SignRequest is the spec's RemoteSignRequest.
type SignRequest struct {
	Region     string              `json:"region"`
	URI        string              `json:"uri"`
	Method     string              `json:"method"`
	Headers    map[string][]string `json:"headers"`
	Properties map[string]string   `json:"properties,omitempty"`
	Body       *string             `json:"body,omitempty"`
	Provider   string              `json:"provider,omitempty"`
}

// SignResult is the spec's RemoteSignResult: the request's headers with
// the signature added, and the URI to send it to.
type SignResult struct {
	URI     string              `json:"uri"`
	Headers map[string][]string `json:"headers"`
}

// SignerConfig configures a Signer.
type SignerConfig struct {
	// Credentials are the catalog's own storage keys; they never leave it.
	Credentials aws.CredentialsProvider
	// Region signs requests that name none.
	Region string
	// Endpoint is the S3 endpoint clients talk to (s3.endpoint); empty
	// means AWS S3. Only requests to its host (path style) or to
	// <bucket>.<its host> (virtual-host style) are signed.
	Endpoint string
	// PathStyle says the store at Endpoint is addressed path style only
	// (s3.pathStyleAccess). Virtual-host style URIs are then refused: a
	// store that ignores the bucket in the host would read the first path
	// segment as the bucket, which is not the bucket that was checked.
	PathStyle bool
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Signer signs S3 requests that stay inside one table's location, with
// the catalog's keys, for clients that hold no keys (remote signing).
type Signer struct {
	cfg      SignerConfig
	endpoint string // host[:port] of cfg.Endpoint, or "" for AWS
	v4       *v4.Signer
}

// NewSigner checks cfg.
func NewSigner(cfg SignerConfig) (*Signer, error) {
	if cfg.Credentials == nil {
		return nil, errors.New("remote signing: no credentials to sign with")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Signer{cfg: cfg, v4: v4.NewSigner(func(o *v4.SignerOptions) {
		// S3 signs the path exactly as sent, without a second escaping.
		o.DisableURIPathEscaping = true
	})}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("remote signing: endpoint %q is not a URL with a host", cfg.Endpoint)
		}
		s.endpoint = strings.ToLower(u.Host)
	}
	return s, nil
}

// Target returns the bucket and key (decoded, possibly "") an S3 request
// URI addresses, telling path style from virtual-host style by the host.
// A host that is neither the endpoint nor a bucket under it is refused:
// guessing would risk signing a request that the store reads as being for
// another bucket than the one checked.
func (s *Signer) Target(u *url.URL) (bucket, key string, err error) {
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", "", ice.Errorf(ice.EINVALID, "uri %q is not an http(s) URL of an S3 request", u.Redacted())
	}
	host := strings.ToLower(u.Host)
	virtual, ok := s.bucketOfHost(host)
	if !ok {
		return "", "", ice.Errorf(ice.EFORBIDDEN, "uri host %q is not the catalog's S3 endpoint; refusing to sign", u.Host)
	}
	path := u.Path
	if !strings.HasPrefix(path, "/") && path != "" {
		return "", "", ice.Errorf(ice.EINVALID, "uri path %q is not absolute", path)
	}
	path = strings.TrimPrefix(path, "/")
	if virtual != "" {
		return virtual, path, nil
	}
	bucket, key, _ = strings.Cut(path, "/")
	if bucket == "" {
		return "", "", ice.Errorf(ice.EFORBIDDEN, "uri %q names no bucket; refusing to sign", u.Redacted())
	}
	return bucket, key, nil
}

// bucketOfHost says whether host is an S3 host of ours and, for a
// virtual-host style host, which bucket it names.
func (s *Signer) bucketOfHost(host string) (bucket string, ok bool) {
	if s.endpoint != "" {
		if host == s.endpoint {
			return "", true
		}
		if b, found := strings.CutSuffix(host, "."+s.endpoint); found && b != "" && !s.cfg.PathStyle {
			return b, true
		}
		return "", false
	}
	// AWS: [bucket.]s3[.dualstack][.region].amazonaws.com[.cn], or the
	// older s3-region form.
	name, found := strings.CutSuffix(strings.TrimSuffix(host, ".cn"), ".amazonaws.com")
	if !found {
		return "", false
	}
	labels := strings.Split(name, ".")
	for i, l := range labels {
		if l == "s3" || strings.HasPrefix(l, "s3-") {
			return strings.Join(labels[:i], "."), true
		}
	}
	return "", false
}

// listQuery and objectQuery are the query parameters a signed request may
// carry. Subresources that change more than an object's bytes (acl,
// tagging, retention, legal-hold, policy, ...) are not among them.
var (
	listQuery   = map[string]bool{"list-type": true, "prefix": true, "delimiter": true, "continuation-token": true, "max-keys": true, "start-after": true, "encoding-type": true, "fetch-owner": true, "marker": true, "x-id": true}
	objectQuery = map[string]bool{"uploads": true, "uploadId": true, "partNumber": true, "versionId": true, "x-id": true, "max-parts": true, "part-number-marker": true}
)

// Sign checks that req stays inside loc with the given access and signs it.
// Refusals are EFORBIDDEN (403), malformed requests EINVALID (400).
func (s *Signer) Sign(ctx context.Context, loc Location, access Access, req SignRequest) (SignResult, error) {
	if req.Provider != "" && req.Provider != "s3" {
		return SignResult{}, ice.Errorf(ice.EINVALID, "provider %q is not supported; only s3 requests are signed", req.Provider)
	}
	u, err := url.Parse(req.URI)
	if err != nil {
		return SignResult{}, ice.Invalid("uri is not a URL: %w", err)
	}
	bucket, key, err := s.Target(u)
	if err != nil {
		return SignResult{}, err
	}
	if err := checkKey(key); err != nil {
		return SignResult{}, ice.Errorf(ice.EFORBIDDEN, "uri %q: %w; refusing to sign", req.URI, err)
	}
	if bucket != loc.Bucket {
		return SignResult{}, ice.Errorf(ice.EFORBIDDEN, "uri %q is outside the table's location %s", req.URI, loc)
	}
	headers := http.Header{}
	for k, vs := range req.Headers {
		for _, v := range vs {
			headers.Add(k, v)
		}
	}
	if headers.Get("X-Amz-Copy-Source") != "" {
		// A copy reads its source with the signer's rights; the source
		// could be any table's file.
		return SignResult{}, ice.Errorf(ice.EFORBIDDEN, "copy requests are not signed")
	}
	payloadHash, err := s.checkRequest(req, u.Query(), loc, key, access, headers)
	if err != nil {
		return SignResult{}, err
	}
	return s.sign(ctx, req, u, headers, payloadHash)
}

// checkRequest applies the rules per kind of request and returns the
// payload hash to sign.
func (s *Signer) checkRequest(req SignRequest, q url.Values, loc Location, key string, access Access, headers http.Header) (string, error) {
	method := strings.ToUpper(req.Method)
	write := false
	switch method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPut, http.MethodPost, http.MethodDelete:
		write = true
	default:
		return "", ice.Errorf(ice.EFORBIDDEN, "method %q is not signed", req.Method)
	}
	if write && access != ReadWrite {
		return "", ice.Errorf(ice.EFORBIDDEN, "%s access: %s requests are not signed", access, method)
	}
	claimed := headers.Get("X-Amz-Content-Sha256")
	switch {
	case key != "":
		if !loc.Contains(key) {
			return "", ice.Errorf(ice.EFORBIDDEN, "uri %q is outside the table's location %s", req.URI, loc)
		}
		if err := allowedQuery(q, objectQuery); err != nil {
			return "", err
		}
	case method == http.MethodGet && q.Has("location") && len(q) == 1:
		// GetBucketLocation: clients ask before their first request.
	case method == http.MethodGet:
		if err := allowedQuery(q, listQuery); err != nil {
			return "", err
		}
		if p := q.Get("prefix"); loc.Prefix != "" && !loc.Contains(p) && p != loc.Prefix+"/" {
			return "", ice.Errorf(ice.EFORBIDDEN, "listing prefix %q is outside the table's location %s", p, loc)
		}
	case method == http.MethodPost && q.Has("delete"):
		hash, err := checkDeleteObjects(req.Body, loc)
		if err != nil {
			return "", err
		}
		if claimed != "" && claimed != hash {
			return "", ice.Errorf(ice.EINVALID, "x-amz-content-sha256 does not match the body")
		}
		// The body was checked, so its hash is signed: the client cannot
		// swap in other keys.
		return hash, nil
	default:
		return "", ice.Errorf(ice.EFORBIDDEN, "%s of bucket %s is not signed; only requests inside the table's location are", method, loc.Bucket)
	}
	switch {
	case claimed == "":
		return "UNSIGNED-PAYLOAD", nil
	case claimed == "UNSIGNED-PAYLOAD", claimed == "STREAMING-UNSIGNED-PAYLOAD-TRAILER", isHexSHA256(claimed):
		return claimed, nil
	default:
		// Signed streaming payloads need the signing key for every chunk.
		return "", ice.Errorf(ice.EINVALID, "x-amz-content-sha256 %q cannot be signed remotely; use UNSIGNED-PAYLOAD", claimed)
	}
}

func allowedQuery(q url.Values, allowed map[string]bool) error {
	for k := range q {
		if !allowed[k] && !strings.HasPrefix(k, "response-") {
			return ice.Errorf(ice.EFORBIDDEN, "query parameter %q is not signed", k)
		}
	}
	return nil
}

func isHexSHA256(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

// checkDeleteObjects checks that every key of a DeleteObjects body lies in
// loc and returns the body's hash.
func checkDeleteObjects(body *string, loc Location) (string, error) {
	if body == nil {
		return "", ice.Errorf(ice.EINVALID, "DeleteObjects requests must send their body to be signed")
	}
	var doc struct {
		Objects []struct {
			Key string `xml:"Key"`
		} `xml:"Object"`
	}
	if err := xml.Unmarshal([]byte(*body), &doc); err != nil {
		return "", ice.Invalid("DeleteObjects body is not XML: %w", err)
	}
	if len(doc.Objects) == 0 {
		return "", ice.Errorf(ice.EINVALID, "DeleteObjects body names no key")
	}
	for _, o := range doc.Objects {
		if err := checkKey(o.Key); err != nil || !loc.Contains(o.Key) {
			return "", ice.Errorf(ice.EFORBIDDEN, "DeleteObjects key %q is outside the table's location %s", o.Key, loc)
		}
	}
	sum := sha256.Sum256([]byte(*body))
	return hex.EncodeToString(sum[:]), nil
}

// headersSetBySigner are dropped from the client's headers: the signature
// sets them.
var headersSetBySigner = []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "Host"}

func (s *Signer) sign(ctx context.Context, req SignRequest, u *url.URL, headers http.Header, payloadHash string) (SignResult, error) {
	if h := headers.Get("Host"); h != "" && !strings.EqualFold(h, u.Host) {
		return SignResult{}, ice.Errorf(ice.EFORBIDDEN, "Host header %q differs from the uri's host %q", h, u.Host)
	}
	for _, k := range headersSetBySigner {
		headers.Del(k)
	}
	hr, err := http.NewRequestWithContext(ctx, strings.ToUpper(req.Method), u.String(), nil)
	if err != nil {
		return SignResult{}, ice.Invalid("cannot build the request to sign: %w", err)
	}
	if cl := headers.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return SignResult{}, ice.Errorf(ice.EINVALID, "Content-Length %q is not a length", cl)
		}
		hr.ContentLength = n
	}
	headers.Set("X-Amz-Content-Sha256", payloadHash)
	hr.Header = headers
	creds, err := s.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return SignResult{}, &ice.Error{Code: ice.EUNAVAILABLE, Message: "cannot sign: the catalog's storage credentials are unavailable", Err: err}
	}
	region := req.Region
	if region == "" {
		region = s.cfg.Region
	}
	if err := s.v4.SignHTTP(ctx, creds, hr, payloadHash, "s3", region, s.cfg.Now()); err != nil {
		return SignResult{}, fmt.Errorf("sign %s %s: %w", req.Method, u.Redacted(), err)
	}
	return SignResult{URI: hr.URL.String(), Headers: hr.Header}, nil
}
