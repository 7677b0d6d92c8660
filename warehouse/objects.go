package warehouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// objects is the little the catalog itself needs from a store of files. Each
// call takes the request's context, unlike iceberg-go's FileIO, so a client
// that goes away cancels the I/O it caused.
type objects interface {
	// read returns the object, or errTooLarge when it holds more than
	// limit bytes, having read at most limit+1 of them.
	read(ctx context.Context, key string, limit int64) ([]byte, error)
	write(ctx context.Context, key string, data []byte) error
	remove(ctx context.Context, key string) error
	check(ctx context.Context) error
}

// errNotExist is returned by read for a missing object.
var errNotExist = fs.ErrNotExist

// errTooLarge is returned by read for an object over the limit, and by
// decompress for an output over it.
var errTooLarge = errors.New("larger than the metadata file size limit")

// errNotFile is returned by read for a local path that is not a regular
// file (a directory, a device such as /dev/zero, a FIFO).
var errNotFile = errors.New("not a regular file")

// readLimited reads r to its end, or fails with errTooLarge after limit+1
// bytes: the memory a read holds never exceeds the limit.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

// bucketObjects stores objects in one S3 bucket: through gocloud's blob,
// except for writes (see write).
type bucketObjects struct {
	b      *blob.Bucket
	client *s3.Client
	name   string
}

func (o bucketObjects) read(ctx context.Context, key string, limit int64) ([]byte, error) {
	r, err := o.b.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("%s: %w", key, errNotExist)
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if r.Size() > limit {
		return nil, errTooLarge
	}
	return readLimited(r, limit)
}

// write is one PutObject. gocloud's WriteAll would hash the body with MD5
// twice and stream it through its upload manager's goroutines and pipe,
// a tenth of a commit's CPU for a metadata file (ice-bench profile,
// docs/benchmarks.md). The body's integrity is still checked: the SDK sends
// a checksum of it (CRC32 by default) that S3 verifies.
func (o bucketObjects) write(ctx context.Context, key string, data []byte) error {
	_, err := o.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(o.name),
		Key:           aws.String(key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String("application/json"),
	})
	return err
}

func (o bucketObjects) remove(ctx context.Context, key string) error {
	err := o.b.Delete(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil
	}
	return err
}

func (o bucketObjects) check(ctx context.Context) error {
	ok, err := o.b.IsAccessible(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("bucket does not exist")
	}
	return nil
}

// dirObjects stores objects as files under the local filesystem root; keys
// are absolute paths.
type dirObjects struct{ root string }

func (o dirObjects) read(_ context.Context, key string, limit int64) ([]byte, error) {
	f, err := os.Open(key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errNotFile
	}
	if st.Size() > limit {
		return nil, errTooLarge
	}
	return readLimited(f, limit)
}

// write goes through a temporary file and a rename, so a reader never sees
// a half-written metadata file and a crash leaves none behind.
func (o dirObjects) write(_ context.Context, key string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(key), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(key), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), key)
}

func (o dirObjects) remove(_ context.Context, key string) error {
	err := os.Remove(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (o dirObjects) check(_ context.Context) error {
	st, err := os.Stat(o.root)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", o.root)
	}
	return nil
}
