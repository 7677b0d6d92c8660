package cli

// --s3-copy-object: an input in S3 is copied into the table's bucket by
// S3 itself (CopyObject, or UploadPartCopy parts for objects over 5 GiB),
// so its bytes never pass through ice.

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// maxCopyObject is the largest object one CopyObject request may copy;
// partSize the size of each part of a larger, multipart copy.
const (
	maxCopyObject = 5 << 30
	copyPartSize  = 512 << 20
)

func (ins *inserter) copyObject(ctx context.Context, src *source, dest string, prog *progress) error {
	if !strings.HasPrefix(src.URI, "s3://") || !strings.HasPrefix(dest, "s3://") {
		return fmt.Errorf("--s3-copy-object copies between s3:// buckets only (the input is %s, the table at %s)", src.URI, dest)
	}
	sb, sk, err := splitS3(src.URI)
	if err != nil {
		return err
	}
	db, dk, err := splitS3(dest)
	if err != nil {
		return err
	}
	client, err := ins.in.s3Client(ctx)
	if err != nil {
		return err
	}
	ins.record(dest, src.URI)
	copySource := sb + "/" + sk
	ins.r.log.Info("server-side copy", "file", src.URI, "to", dest)
	if src.Size <= maxCopyObject {
		if _, err := client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &db, Key: &dk, CopySource: aws.String(copySource)}); err != nil {
			return fmt.Errorf("copy to %s: %w", dest, err)
		}
		prog.addBytes(src.Size)
		return nil
	}
	up, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &db, Key: &dk})
	if err != nil {
		return fmt.Errorf("copy to %s: %w", dest, err)
	}
	abort := func() {
		_, _ = client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: &db, Key: &dk, UploadId: up.UploadId})
	}
	nParts := int((src.Size + copyPartSize - 1) / copyPartSize)
	parts := make([]types.CompletedPart, nParts)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ins.args.s3CopyThreads)
	for i := range nParts {
		g.Go(func() error {
			first := int64(i) * copyPartSize
			last := min(first+copyPartSize, src.Size) - 1
			n := int32(i + 1)
			out, err := client.UploadPartCopy(gctx, &s3.UploadPartCopyInput{
				Bucket: &db, Key: &dk, UploadId: up.UploadId, PartNumber: &n,
				CopySource: aws.String(copySource), CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", first, last)),
			})
			if err != nil {
				return fmt.Errorf("copy part %d to %s: %w", n, dest, err)
			}
			parts[i] = types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: &n}
			prog.addBytes(last - first + 1)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		abort()
		return err
	}
	if _, err := client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &db, Key: &dk, UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}); err != nil {
		abort()
		return fmt.Errorf("copy to %s: %w", dest, err)
	}
	return nil
}
