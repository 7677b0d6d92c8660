// Package warehouse reads and writes table metadata files in object storage
// (s3://) or a local directory (file://), and purges dropped tables' files.
package warehouse

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/apache/iceberg-go/io/gocloud/blobfs"
	"github.com/apache/iceberg-go/table"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/zstd"
	"gocloud.dev/blob/s3blob"

	icebergio "github.com/apache/iceberg-go/io"

	ice "github.com/ice-rest-catalog/ice"
)

// S3Config is how the catalog reaches S3-compatible storage.
type S3Config struct {
	Endpoint        string
	PathStyleAccess bool
	AccessKeyID     string
	SecretAccessKey string
	Region          string
}

// Config configures a Warehouse.
type Config struct {
	// Location is the warehouse root: s3://bucket/prefix or file:///abs/dir.
	Location string
	S3       S3Config
	// CacheBytes bounds the metadata cache: raw JSON plus the parsed model.
	CacheBytes int64
	// BaseDir resolves relative file:// locations (file://warehouse/...),
	// which the Java server writes; default the working directory.
	BaseDir string
	// MaxMetadataBytes bounds a metadata file, both as stored and once
	// decompressed; default DefaultMaxMetadataBytes.
	MaxMetadataBytes int64
}

// DefaultMaxMetadataBytes is the default bound on a metadata file: far
// above any real table's (a 10,000-snapshot file is a few MB), far below
// what would threaten the server's memory.
const DefaultMaxMetadataBytes = 64 << 20

// Warehouse is the catalog's access to table files.
type Warehouse struct {
	location string
	baseDir  string
	maxBytes int64
	s3cfg    S3Config
	awsCfg   aws.Config
	cache    *cache

	mu      sync.Mutex
	buckets map[string]bucketObjects
}

// Open checks the configuration and prepares clients; it does no I/O for
// file:// and only loads AWS settings for s3://.
func Open(ctx context.Context, cfg Config) (*Warehouse, error) {
	loc := strings.TrimSuffix(cfg.Location, "/")
	u, err := url.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("warehouse %q: %w", cfg.Location, err)
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = 32 << 20
	}
	if cfg.BaseDir == "" {
		if cfg.BaseDir, err = os.Getwd(); err != nil {
			return nil, err
		}
	}
	if cfg.MaxMetadataBytes <= 0 {
		cfg.MaxMetadataBytes = DefaultMaxMetadataBytes
	}
	w := &Warehouse{location: loc, baseDir: cfg.BaseDir, maxBytes: cfg.MaxMetadataBytes, s3cfg: cfg.S3, cache: newCache(cfg.CacheBytes), buckets: map[string]bucketObjects{}}
	switch u.Scheme {
	case "file":
		objs, _, err := w.resolve(ctx, loc)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(objs.(dirObjects).root, 0o755); err != nil {
			return nil, fmt.Errorf("warehouse %q: %w", cfg.Location, err)
		}
	case "s3", "s3a":
		if u.Host == "" {
			return nil, fmt.Errorf("warehouse %q: no bucket", cfg.Location)
		}
		opts := []func(*awsconfig.LoadOptions) error{}
		if cfg.S3.Region != "" {
			opts = append(opts, awsconfig.WithRegion(cfg.S3.Region))
		}
		if cfg.S3.AccessKeyID != "" {
			opts = append(opts, awsconfig.WithCredentialsProvider(
				credentials.NewStaticCredentialsProvider(cfg.S3.AccessKeyID, cfg.S3.SecretAccessKey, "")))
		}
		w.awsCfg, err = awsconfig.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("warehouse %q: load AWS settings: %w", cfg.Location, err)
		}
		if w.awsCfg.Region == "" {
			w.awsCfg.Region = "us-east-1" // S3-compatible stores rarely care, the SDK insists
		}
		w.awsCfg.HTTPClient = s3HTTPClient()
	default:
		return nil, fmt.Errorf("warehouse %q: scheme must be s3:// or file://", cfg.Location)
	}
	return w, nil
}

// s3MaxIdleConns is how many idle connections to the S3 endpoint are kept
// for reuse. The SDK's default keeps 10 per host: with more requests than
// that in flight, every extra one dials a new connection and closes it
// afterwards, which under load costs a TCP (and TLS) handshake per request
// and churns memory (ice-bench, docs/benchmarks.md).
const s3MaxIdleConns = 256

func s3HTTPClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = s3MaxIdleConns
		t.MaxIdleConnsPerHost = s3MaxIdleConns
	})
}

// CacheStats describes the metadata cache now.
func (w *Warehouse) CacheStats() CacheStats { return w.cache.stats() }

// Location is the warehouse root, without a trailing slash.
func (w *Warehouse) Location() string { return w.location }

// Close releases the storage clients.
func (w *Warehouse) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for _, b := range w.buckets {
		errs = append(errs, b.b.Close())
	}
	return errors.Join(errs...)
}

// Check reports whether the warehouse root can be reached.
func (w *Warehouse) Check(ctx context.Context) error {
	objs, _, err := w.resolve(ctx, w.location)
	if err != nil {
		return err
	}
	return objs.check(ctx)
}

// resolve picks the store of a location and the key within it. Keys are
// literal, as S3 clients and Iceberg's FileIOs read them: "%41" in a
// location is those three characters, never "A" (ice.Location).
func (w *Warehouse) resolve(ctx context.Context, location string) (objects, string, error) {
	scheme, rest, ok := strings.Cut(location, "://")
	if !ok {
		scheme, rest = "", location
	}
	if strings.ContainsAny(rest, "?#") {
		return nil, "", ice.Errorf(ice.EINVALID, "invalid location %q", location)
	}
	switch strings.ToLower(scheme) {
	case "file", "":
		host, p := "", rest
		if scheme != "" {
			var found bool
			host, p, found = strings.Cut(rest, "/")
			p = "/" + p
			if !found {
				p = ""
			}
		}
		if host != "" || !strings.HasPrefix(p, "/") {
			p = filepath.Join(w.baseDir, host, p) // file://rel/dir, relative to the base dir
		}
		return dirObjects{root: p}, p, nil
	case "s3", "s3a", "s3n":
		if w.awsCfg.Region == "" {
			return nil, "", ice.Errorf(ice.EINVALID, "location %q is on S3, but the catalog has no S3 settings (warehouse is %s)", location, w.location)
		}
		host, key, _ := strings.Cut(rest, "/")
		if host == "" {
			return nil, "", ice.Errorf(ice.EINVALID, "location %q names no bucket", location)
		}
		b, err := w.bucket(ctx, host)
		if err != nil {
			return nil, "", err
		}
		return b, key, nil
	}
	return nil, "", ice.Errorf(ice.EINVALID, "location %q: unsupported scheme %q", location, scheme)
}

func (w *Warehouse) bucket(ctx context.Context, name string) (bucketObjects, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b, ok := w.buckets[name]; ok {
		return b, nil
	}
	client := s3.NewFromConfig(w.awsCfg, func(o *s3.Options) {
		if w.s3cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(w.s3cfg.Endpoint)
		}
		o.UsePathStyle = w.s3cfg.PathStyleAccess
	})
	b, err := s3blob.OpenBucketV2(ctx, client, name, nil)
	if err != nil {
		return bucketObjects{}, fmt.Errorf("open bucket %s: %w", name, err)
	}
	w.buckets[name] = bucketObjects{b: b, client: client, name: name}
	return w.buckets[name], nil
}

// ReadMetadata returns the metadata file at location, parsed, from the
// cache when it was read or written before.
func (w *Warehouse) ReadMetadata(ctx context.Context, location string) (*Metadata, error) {
	cached, ok := w.cache.get(location)
	if ok && cached.Parsed != nil {
		return cached, nil
	}
	var raw []byte
	if ok {
		raw = cached.Raw // read to be served before: parsed now
	} else {
		var err error
		if raw, err = w.readMetadataFile(ctx, location); err != nil {
			return nil, err
		}
	}
	return w.parseAndCache(location, raw)
}

// parseAndCache parses a metadata file's bytes and caches the result.
func (w *Warehouse) parseAndCache(location string, raw []byte) (*Metadata, error) {
	parsed, err := table.ParseMetadataBytes(raw)
	if err != nil {
		return nil, fmt.Errorf("parse metadata %s: %w", location, err)
	}
	md := &Metadata{MetadataFile: MetadataFile{Location: location, Raw: raw, TableLocation: parsed.Location()}, Parsed: parsed}
	w.cache.put(md)
	return md, nil
}

// ReadServable returns the metadata file at location for a loadTable that
// sends its bytes as they are: from the cache, parsed or not, or read and
// checked to be a JSON object with a location and a format version, and
// cached unparsed. Parsing a file costs many times reading it (1.6 ms for
// a 100-snapshot file here), its model twice its size in the cache, and
// most loads never need it; ReadMetadata parses it when something does.
// Metadata files are immutable, so a file that once parsed (when this
// catalog wrote or registered it) still does.
func (w *Warehouse) ReadServable(ctx context.Context, location string) (*MetadataFile, error) {
	if md, ok := w.cache.get(location); ok {
		return &md.MetadataFile, nil
	}
	raw, err := w.readMetadataFile(ctx, location)
	if err != nil {
		return nil, err
	}
	var head struct {
		Location      string `json:"location"`
		FormatVersion int    `json:"format-version"`
	}
	if err := json.Unmarshal(raw, &head); err != nil || head.Location == "" || head.FormatVersion < 1 {
		// Not what a reader would accept: the full parse of the bytes
		// just read says why.
		md, err := w.parseAndCache(location, raw)
		if err != nil {
			return nil, err
		}
		return &md.MetadataFile, nil
	}
	f := MetadataFile{Location: location, Raw: raw, TableLocation: head.Location}
	w.cache.put(&Metadata{MetadataFile: f}) // bytes only: see cache
	return &f, nil
}

// readMetadataFile reads and decompresses a table or view metadata file.
func (w *Warehouse) readMetadataFile(ctx context.Context, location string) ([]byte, error) {
	objs, key, err := w.resolve(ctx, location)
	if err != nil {
		return nil, err
	}
	raw, err := objs.read(ctx, key, w.maxBytes)
	switch {
	case errors.Is(err, errNotExist):
		return nil, ice.NotFound("metadata file %s does not exist", location).WithCause(err)
	case errors.Is(err, errTooLarge), errors.Is(err, errNotFile):
		return nil, ice.Invalid("metadata file %s is %w", location, err)
	case errors.Is(err, fs.ErrPermission):
		return nil, ice.Invalid("metadata file %s cannot be read", location).WithCause(err)
	case err != nil:
		return nil, ice.Unavailable("cannot read metadata from storage", fmt.Errorf("read %s: %w", location, err))
	}
	if raw, err = decompress(raw, w.maxBytes); err != nil {
		return nil, ice.Invalid("metadata file %s cannot be decompressed: %w", location, err)
	}
	return raw, nil
}

// WriteMetadata writes md as a new metadata file at location, compressed
// when the location's name asks for it. base is the metadata md was built
// on, nil for a new table: it lets the check that readers will accept the
// file look at what changed (checkReadable).
func (w *Warehouse) WriteMetadata(ctx context.Context, location string, md table.Metadata, base *Metadata) (*Metadata, error) {
	d := newDraft(md, base)
	raw, snaps, err := encodeDraft(d)
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	raw = WithEmptyLists(raw)
	if err := checkReadable(d, raw); err != nil {
		return nil, ice.Invalid("the updates would produce table metadata that Iceberg readers reject: %w", err)
	}
	data, err := compress(location, raw)
	if err != nil {
		return nil, fmt.Errorf("compress %s: %w", location, err)
	}
	objs, key, err := w.resolve(ctx, location)
	if err != nil {
		return nil, err
	}
	if err := objs.write(ctx, key, data); err != nil {
		return nil, ice.Unavailable("cannot write table metadata to storage", fmt.Errorf("write %s: %w", location, err))
	}
	out := &Metadata{MetadataFile: MetadataFile{Location: location, Raw: raw, TableLocation: md.Location()}, Parsed: md, snapshots: snaps}
	w.cache.put(out)
	return out, nil
}

// Delete removes one file; a missing file is not an error.
func (w *Warehouse) Delete(ctx context.Context, location string) error {
	w.cache.remove(location)
	objs, key, err := w.resolve(ctx, location)
	if err != nil {
		return err
	}
	if err := objs.remove(ctx, key); err != nil {
		return fmt.Errorf("delete %s: %w", location, err)
	}
	return nil
}

// FileIO returns an iceberg-go FileIO for location, for the work that
// iceberg-go does itself (reading manifests). It is bound to ctx.
func (w *Warehouse) FileIO(ctx context.Context, location string) (icebergio.IO, error) {
	u, err := url.Parse(location)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "file" || u.Scheme == "" {
		return icebergio.LocalFS{}, nil
	}
	b, err := w.bucket(ctx, u.Host)
	if err != nil {
		return nil, err
	}
	return blobfs.New(ctx, b.b, blobfs.DefaultObjectLocationExtractor(u.Host, "s3", "s3a", "s3n")), nil
}

// compress encodes a metadata file as its name says: iceberg-go names files
// <v>-<uuid>.gz.metadata.json or .zstd.metadata.json when the table's
// write.metadata.compression-codec asks for it.
func compress(location string, raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch {
	case strings.HasSuffix(location, ".gz.metadata.json"):
		w = gzip.NewWriter(&buf)
	case strings.HasSuffix(location, ".zstd.metadata.json"):
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			return nil, err
		}
		w = zw
	default:
		return raw, nil
	}
	if _, err := w.Write(raw); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decompress recognises gzip and zstd by their magic numbers, whatever the
// file's name, since other writers name compressed files differently.
func decompress(b []byte, limit int64) ([]byte, error) {
	switch {
	case len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b:
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		return readLimited(zr, limit)
	case len(b) > 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd:
		zr, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderMaxMemory(uint64(limit)+1), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		return readLimited(zr, limit)
	}
	return b, nil
}
