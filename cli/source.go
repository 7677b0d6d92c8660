package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// source is one input file: a local path, an http(s) URL (downloaded to a
// temporary file first, since Parquet is read from its end) or an s3://
// object (read with ranged GETs).
type source struct {
	URI  string
	Size int64
	open func(ctx context.Context) (readerAt, error)
}

type readerAt interface {
	io.ReaderAt
	io.Closer
}

// Open returns a reader of the whole file.
func (s *source) Open(ctx context.Context) (readerAt, error) { return s.open(ctx) }

// inputs resolves command-line file arguments: local paths (with shell
// wildcards already expanded, or expanded here with filepath.Glob),
// http(s):// URLs, and s3:// URIs whose key may hold wildcards.
type inputs struct {
	r        *run
	s3Args   s3InputArgs
	vended   map[string]string // the table's S3 keys, with --use-vended-credentials
	s3       *s3.Client
	tmpDir   string
	tmpFiles []string
}

func (r *run) newInputs() *inputs { return &inputs{r: r} }

// Close removes downloaded http(s) files.
func (in *inputs) Close() {
	for _, f := range in.tmpFiles {
		_ = os.Remove(f)
	}
}

func (in *inputs) resolve(ctx context.Context, args []string) ([]*source, error) {
	var out []*source
	seen := map[string]bool{}
	for _, a := range args {
		srcs, err := in.resolveOne(ctx, a)
		if err != nil {
			return nil, err
		}
		for _, s := range srcs {
			if seen[s.URI] {
				return nil, fmt.Errorf("input %s is given twice", s.URI)
			}
			seen[s.URI] = true
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no input files")
	}
	return out, nil
}

func (in *inputs) resolveOne(ctx context.Context, arg string) ([]*source, error) {
	switch {
	case strings.HasPrefix(arg, "s3://") || strings.HasPrefix(arg, "s3a://"):
		return in.s3Objects(ctx, "s3://"+strings.SplitN(arg, "://", 2)[1])
	case strings.HasPrefix(arg, "http://") || strings.HasPrefix(arg, "https://"):
		s, err := in.download(ctx, arg)
		if err != nil {
			return nil, err
		}
		return []*source{s}, nil
	default:
		p := strings.TrimPrefix(arg, "file://")
		matches := []string{p}
		if strings.ContainsAny(p, "*?[") {
			var err error
			if matches, err = filepath.Glob(p); err != nil {
				return nil, fmt.Errorf("pattern %s: %w", arg, err)
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("%s: no matching files", arg)
			}
		}
		var out []*source
		for _, m := range matches {
			s, err := localSource(m)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
}

func localSource(p string) (*source, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", p, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("input %s is a directory", p)
	}
	return &source{URI: abs, Size: st.Size(), open: func(context.Context) (readerAt, error) {
		f, err := os.Open(abs)
		if err != nil {
			return nil, fmt.Errorf("open input: %w", err)
		}
		return f, nil
	}}, nil
}

func (in *inputs) download(ctx context.Context, url string) (*source, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", url, err)
	}
	client, err := in.r.httpClient()
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download %s: HTTP %s", url, resp.Status)
	}
	f, err := os.CreateTemp(in.r.cfg.HTTPCacheDir, "ice-download-*.parquet")
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}
	in.tmpFiles = append(in.tmpFiles, f.Name())
	n, err := io.Copy(f, resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}
	name := f.Name()
	return &source{URI: url, Size: n, open: func(context.Context) (readerAt, error) {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("open download of %s: %w", url, err)
		}
		return f, nil
	}}, nil
}

// s3Client builds an S3 client from the config's s3 section, falling back
// to the AWS SDK's usual environment (AWS_* variables, profiles).
func (in *inputs) s3Client(ctx context.Context) (*s3.Client, error) {
	if in.s3 != nil {
		return in.s3, nil
	}
	c := in.r.cfg.S3
	var opts []func(*awsconfig.LoadOptions) error
	switch {
	case in.s3Args.region != "":
		opts = append(opts, awsconfig.WithRegion(in.s3Args.region))
	case in.vended["s3.region"] != "":
		opts = append(opts, awsconfig.WithRegion(in.vended["s3.region"]))
	case c.Region != "":
		opts = append(opts, awsconfig.WithRegion(c.Region))
	}
	switch {
	case in.s3Args.noSign:
		opts = append(opts, awsconfig.WithCredentialsProvider(aws.AnonymousCredentials{}))
	case in.vended != nil:
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			in.vended["s3.access-key-id"], in.vended["s3.secret-access-key"], in.vended["s3.session-token"])))
	case c.AccessKeyID != "":
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3 config: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1"
	}
	endpoint, pathStyle := c.Endpoint, c.PathStyleAccess
	if in.vended != nil && c.Endpoint == "" && in.vended["s3.endpoint"] != "" {
		endpoint, pathStyle = in.vended["s3.endpoint"], in.vended["s3.path-style-access"] == "true"
	}
	in.s3 = s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = pathStyle
	})
	return in.s3, nil
}

func splitS3(uri string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", "", fmt.Errorf("not an s3:// URI: %s", uri)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("no bucket in %s", uri)
	}
	return bucket, key, nil
}

// s3Objects lists the objects an s3:// URI names: one object, or all the
// keys matching its wildcards (path.Match syntax per key, listed from the
// prefix before the first wildcard).
func (in *inputs) s3Objects(ctx context.Context, uri string) ([]*source, error) {
	bucket, key, err := splitS3(uri)
	if err != nil {
		return nil, err
	}
	client, err := in.s3Client(ctx)
	if err != nil {
		return nil, err
	}
	wild := strings.IndexAny(key, "*?[")
	if wild < 0 {
		head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", uri, err)
		}
		return []*source{in.s3Source(bucket, key, aws.ToInt64(head.ContentLength))}, nil
	}
	prefix := key[:wild]
	var out []*source
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", uri, err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if ok, _ := path.Match(key, k); ok {
				out = append(out, in.s3Source(bucket, k, aws.ToInt64(o.Size)))
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no matching objects", uri)
	}
	return out, nil
}

func (in *inputs) s3Source(bucket, key string, size int64) *source {
	return &source{URI: "s3://" + bucket + "/" + key, Size: size, open: func(ctx context.Context) (readerAt, error) {
		return &s3ReaderAt{ctx: ctx, client: in.s3, bucket: bucket, key: key}, nil
	}}
}

// s3ReaderAt reads an object with one ranged GET per ReadAt; the Parquet
// reader asks for the footer and then for whole column chunks, so the
// requests stay few and large.
type s3ReaderAt struct {
	ctx         context.Context
	client      *s3.Client
	bucket, key string
}

func (o *s3ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	rng := fmt.Sprintf("bytes=%d-%d", off, off+int64(len(p))-1)
	out, err := o.client.GetObject(o.ctx, &s3.GetObjectInput{Bucket: &o.bucket, Key: &o.key, Range: &rng})
	if err != nil {
		return 0, fmt.Errorf("read s3://%s/%s at %d: %w", o.bucket, o.key, off, err)
	}
	defer out.Body.Close()
	n, err := io.ReadFull(out.Body, p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

func (o *s3ReaderAt) Close() error { return nil }

// sourceFile adapts a source to iceberg-go's io.File so that iceberg-go
// can read a file's footer from where it is while recording another path
// (the copy's) in the table.
type sourceFile struct {
	*io.SectionReader
	rc   readerAt
	name string
}

func (f *sourceFile) Close() error { return f.rc.Close() }

func (f *sourceFile) Stat() (fs.FileInfo, error) {
	return staticInfo{name: path.Base(f.name), size: f.Size()}, nil
}

type staticInfo struct {
	name string
	size int64
}

func (i staticInfo) Name() string       { return i.name }
func (i staticInfo) Size() int64        { return i.size }
func (i staticInfo) Mode() fs.FileMode  { return 0o444 }
func (i staticInfo) ModTime() time.Time { return time.Time{} }
func (i staticInfo) IsDir() bool        { return false }
func (i staticInfo) Sys() any           { return nil }

// s3InputArgs are the flags that say how s3:// input files are read.
type s3InputArgs struct {
	region string
	noSign bool
	vended bool
}

func (a *s3InputArgs) register(fs *flag.FlagSet) {
	a.registerUnsigned(fs)
	fs.BoolVar(&a.vended, "use-vended-credentials", false, "read s3:// input files with the credentials the catalog vends for the table")
	fs.BoolVar(&a.vended, "force-table-auth", false, "same as --use-vended-credentials (deprecated name)")
}

// registerUnsigned registers --s3-region and --s3-no-sign-request, for
// commands that read a file without a table (create-table,
// describe-parquet).
func (a *s3InputArgs) registerUnsigned(fs *flag.FlagSet) {
	fs.StringVar(&a.region, "s3-region", "", "AWS `region` of the s3:// input files (default: s3.region, the AWS SDK's, us-east-1)")
	fs.BoolVar(&a.noSign, "s3-no-sign-request", false, "read s3:// input files without credentials (public buckets)")
}

func (a s3InputArgs) check() error {
	if a.noSign && a.vended {
		return usagef("--s3-no-sign-request and --use-vended-credentials are mutually exclusive")
	}
	return nil
}

// useTableCredentials makes the S3 client of the inputs use the keys the
// catalog vends for table ident (its loadCredentials endpoint), as Java
// ice's --use-vended-credentials reads inputs with the table's S3 client.
func (in *inputs) useTableCredentials(ctx context.Context, ident []string) error {
	client, err := in.r.httpClient()
	if err != nil {
		return err
	}
	get := func(u string, v any) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		req.Header.Set("X-Iceberg-Access-Delegation", "vended-credentials")
		in.r.authorize(req)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: HTTP %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
		}
		return json.Unmarshal(body, v)
	}
	base := strings.TrimSuffix(in.r.cfg.URI, "/")
	var cfg struct {
		Defaults  map[string]string `json:"defaults"`
		Overrides map[string]string `json:"overrides"`
	}
	if err := get(base+"/v1/config", &cfg); err != nil {
		return fmt.Errorf("--use-vended-credentials: catalog config: %w", err)
	}
	prefix := cfg.Overrides["prefix"]
	if prefix == "" {
		prefix = cfg.Defaults["prefix"]
	}
	u := base + "/v1/"
	if prefix != "" {
		u += url.PathEscape(prefix) + "/"
	}
	u += "namespaces/" + url.PathEscape(strings.Join(ident[:len(ident)-1], "\x1f")) + "/tables/" + url.PathEscape(ident[len(ident)-1]) + "/credentials"
	var creds struct {
		StorageCredentials []struct {
			Prefix string            `json:"prefix"`
			Config map[string]string `json:"config"`
		} `json:"storage-credentials"`
	}
	if err := get(u, &creds); err != nil {
		return fmt.Errorf("--use-vended-credentials: table credentials (the table must exist): %w", err)
	}
	for _, c := range creds.StorageCredentials {
		if id := c.Config["s3.access-key-id"]; id != "" {
			in.vended = c.Config
			in.r.log.Debug("reading inputs with the table's vended credentials", "prefix", c.Prefix)
			return nil
		}
	}
	return fmt.Errorf("--use-vended-credentials: the catalog vends no S3 credentials for %s", strings.Join(ident, "."))
}
