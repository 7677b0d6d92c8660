package ice

import "testing"

func TestMetadataFileVersion(t *testing.T) {
	for _, c := range []struct {
		location string
		version  int
		rest     string
		ok       bool
	}{
		{"s3://b/db/t/metadata/00003-6d1b.metadata.json", 3, "6d1b.metadata.json", true},
		{"s3://b/db/t/metadata/00012-6d1b.gz.metadata.json", 12, "6d1b.gz.metadata.json", true},
		{"file:///w/t/metadata/v7.metadata.json", 7, "metadata.json", true},
		{"s3://b/db/t/metadata/snap-1.avro", 0, "", false},
		{"s3://b/db/t/metadata/6d1b.metadata.json", 0, "", false},
		{"s3://b/db/00004-x/metadata.json", 0, "", false}, // only the file's own name counts
	} {
		v, rest, ok := MetadataFileVersion(c.location)
		if v != c.version || rest != c.rest || ok != c.ok {
			t.Errorf("MetadataFileVersion(%q) = %d, %q, %v; want %d, %q, %v", c.location, v, rest, ok, c.version, c.rest, c.ok)
		}
	}
}
