// Package credentials gives clients access to one table's files and no
// more: short-lived STS credentials under a session policy scoped to the
// table's prefix (vending), or SigV4 signatures for requests inside the
// table's location (remote signing, for stores without STS).
package credentials

import (
	"fmt"
	"net/url"
	"strings"

	ice "github.com/ice-rest-catalog/ice"
)

// Location is an S3 table location: a bucket and a key prefix without
// leading or trailing slashes ("" is the whole bucket).
type Location struct {
	Bucket string
	Prefix string
}

// ParseLocation splits an s3://, s3a:// or s3n:// location. Other schemes
// (file://) are not an error of the caller's making but have no S3
// credentials: ok is false for them.
func ParseLocation(loc string) (l Location, ok bool, err error) {
	u, err := url.Parse(loc)
	if err != nil {
		return Location{}, false, ice.Invalid("table location %q is not a URL: %w", loc, err)
	}
	switch u.Scheme {
	case "s3", "s3a", "s3n":
	default:
		return Location{}, false, nil
	}
	if u.Host == "" {
		return Location{}, false, ice.Errorf(ice.EINVALID, "table location %q names no bucket", loc)
	}
	prefix := strings.Trim(u.Path, "/")
	if err := checkKey(prefix); err != nil {
		return Location{}, false, ice.Invalid("table location %q: %w", loc, err)
	}
	return Location{Bucket: u.Host, Prefix: prefix}, true, nil
}

// Contains reports whether key lies below the location, as the session
// policy's "<prefix>/*" does: "ns/t" contains "ns/t/data/f.parquet" but
// neither "ns/t" itself nor "ns/t2/x".
func (l Location) Contains(key string) bool {
	return key != "" && (l.Prefix == "" || strings.HasPrefix(key, l.Prefix+"/"))
}

func (l Location) String() string { return "s3://" + l.Bucket + "/" + l.Prefix }

// checkKey refuses keys that some S3-compatible servers normalise: a "."
// or ".." segment would let "t/../other" reach outside "t" on a server
// that cleans paths (MinIO and versitygw's posix backend both do), and
// control characters have no business in a table's files.
func checkKey(key string) error {
	for _, seg := range strings.Split(key, "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("path segment %q is not allowed", seg)
		}
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("control character or backslash %q is not allowed", r)
		}
	}
	return nil
}
