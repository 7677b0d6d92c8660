package maintenance

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/apache/iceberg-go/table"

	icebergio "github.com/apache/iceberg-go/io"
)

// fileSet holds file locations in one spelling (see normalize), so that a
// path listed from storage matches the URI a manifest records.
type fileSet map[string]struct{}

func (s fileSet) add(loc string) {
	if loc != "" {
		s[normalize(loc)] = struct{}{}
	}
}

func (s fileSet) has(loc string) bool {
	_, ok := s[normalize(loc)]
	return ok
}

// normalize spells a location as scheme://host/path: s3a and s3n become s3,
// and a bare local path or file:/x becomes file:///x. LocalFS lists bare
// paths while manifests record file:// URIs; both must compare equal.
func normalize(loc string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	switch u.Scheme {
	case "", "file":
		return "file://" + path.Clean("/"+strings.TrimPrefix(u.Host+u.Path, "/"))
	case "s3a", "s3n":
		u.Scheme = "s3"
	}
	return u.Scheme + "://" + u.Host + path.Clean("/"+u.Path)
}

// reach collects what a set of metadata files references, reading each
// manifest list and manifest once even when many snapshots share them.
type reach struct {
	fio       icebergio.IO
	files     fileSet
	lists     map[string]bool // manifest lists already read
	manifests map[string]bool // manifests already read
}

func newReach(fio icebergio.IO) *reach {
	return &reach{fio: fio, files: fileSet{}, lists: map[string]bool{}, manifests: map[string]bool{}}
}

// addMetadata adds the metadata file itself, its statistics files and
// everything its snapshots reach; with withLog, the metadata files of its
// log too (only the current file's log says which files stay referenced).
func (r *reach) addMetadata(ctx context.Context, location string, md table.Metadata, withLog bool) error {
	r.files.add(location)
	for e := range md.PreviousFiles() {
		if withLog {
			r.files.add(e.MetadataFile)
		}
	}
	for st := range md.Statistics() {
		r.files.add(st.StatisticsPath)
	}
	for st := range md.PartitionStatistics() {
		r.files.add(st.StatisticsPath)
	}
	for _, snap := range md.Snapshots() {
		if err := r.addSnapshot(ctx, snap); err != nil {
			return err
		}
	}
	return nil
}

// addSnapshot adds a snapshot's manifest list, manifests and the data and
// delete files of every entry, whatever its status: an entry marked deleted
// still names a file that an older snapshot may read.
func (r *reach) addSnapshot(ctx context.Context, snap table.Snapshot) error {
	if snap.ManifestList == "" || r.lists[snap.ManifestList] {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r.lists[snap.ManifestList] = true
	r.files.add(snap.ManifestList)
	manifests, err := snap.Manifests(r.fio)
	if err != nil {
		return fmt.Errorf("read manifest list %s: %w", snap.ManifestList, err)
	}
	for _, mf := range manifests {
		p := mf.FilePath()
		if r.manifests[p] {
			continue
		}
		r.manifests[p] = true
		r.files.add(p)
		entries, err := mf.FetchEntries(r.fio, false)
		if err != nil {
			return fmt.Errorf("read manifest %s: %w", p, err)
		}
		for _, e := range entries {
			r.files.add(e.DataFile().FilePath())
		}
	}
	return nil
}
