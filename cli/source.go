package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
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
	if c.Region != "" {
		opts = append(opts, awsconfig.WithRegion(c.Region))
	}
	if c.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3 config: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1"
	}
	in.s3 = s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
		o.UsePathStyle = c.PathStyleAccess
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
