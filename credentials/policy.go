package credentials

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Access is what a vended credential may do.
type Access int

const (
	ReadOnly Access = iota
	ReadWrite
)

func (a Access) String() string {
	if a == ReadWrite {
		return "read-write"
	}
	return "read-only"
}

type policyDoc struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Effect    string                         `json:"Effect"`
	Action    []string                       `json:"Action"`
	Resource  []string                       `json:"Resource"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

// SessionPolicy is the inline policy of an AssumeRole call: it narrows the
// role to the table's objects and to listings under its prefix. A session
// policy can only take rights away from the role, never add any.
//
// In policy resources and conditions "*" and "?" are wildcards and "${"
// starts a variable, so a location holding one of them cannot be scoped
// exactly; it is refused rather than widened.
func SessionPolicy(l Location, access Access) (string, error) {
	if i := strings.IndexAny(l.Bucket+"/"+l.Prefix, "*?$"); i >= 0 {
		return "", fmt.Errorf("location %s contains %q, a wildcard or variable in IAM policies; credentials cannot be scoped to it", l, (l.Bucket + "/" + l.Prefix)[i])
	}
	objects := "arn:aws:s3:::" + l.Bucket + "/*"
	listPrefixes := []string{"*"}
	if l.Prefix != "" {
		objects = "arn:aws:s3:::" + l.Bucket + "/" + l.Prefix + "/*"
		// Not the bare prefix: listing "ns/t" would also name the
		// files of table "ns/t2".
		listPrefixes = []string{l.Prefix + "/", l.Prefix + "/*"}
	}
	actions := []string{"s3:GetObject"}
	if access == ReadWrite {
		actions = append(actions, "s3:PutObject", "s3:DeleteObject",
			"s3:AbortMultipartUpload", "s3:ListMultipartUploadParts")
	}
	doc := policyDoc{Version: "2012-10-17", Statement: []statement{
		{Effect: "Allow", Action: actions, Resource: []string{objects}},
		{
			Effect: "Allow", Action: []string{"s3:ListBucket"},
			Resource:  []string{"arn:aws:s3:::" + l.Bucket},
			Condition: map[string]map[string][]string{"StringLike": {"s3:prefix": listPrefixes}},
		},
		// Clients look the region up before their first request.
		{Effect: "Allow", Action: []string{"s3:GetBucketLocation"}, Resource: []string{"arn:aws:s3:::" + l.Bucket}},
	}}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("encode session policy: %w", err)
	}
	return string(b), nil
}
