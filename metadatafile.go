package ice

import (
	"path"
	"regexp"
	"strconv"
)

// metadataFileVersion matches the version a metadata file's name starts
// with: 00003-<uuid>.metadata.json as Iceberg's writers name it,
// v3.metadata.json as Hadoop tables do.
var metadataFileVersion = regexp.MustCompile(`^v?(\d+)[-.]`)

// MetadataFileVersion returns the version at the start of the name of the
// metadata file at location (3 for .../00003-<uuid>.gz.metadata.json), and
// the rest of the name after the version and its separator. ok is false
// for a name without one.
func MetadataFileVersion(location string) (version int, rest string, ok bool) {
	name := path.Base(location)
	m := metadataFileVersion.FindStringSubmatch(name)
	if m == nil {
		return 0, "", false
	}
	v, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, "", false
	}
	return v, name[len(m[0]):], true
}
