package service

import (
	"context"

	"github.com/apache/iceberg-go/table"
)

// deleteRemovedMetadata deletes the metadata files a commit dropped from the
// table's metadata log (write.metadata.previous-versions-max) when the table
// asks for it with write.metadata.delete-after-commit.enabled. Over REST the
// client does not own the commit, so this is the catalog's job, as in
// Iceberg's own catalogs. A failed delete only leaves an unreferenced file:
// it is logged, and the commit stands.
func (s *Service) deleteRemovedMetadata(ctx context.Context, st staged) {
	if st.written == nil || st.current == nil {
		return
	}
	if !st.written.Parsed.Properties().GetBool(table.MetadataDeleteAfterCommitEnabledKey, table.MetadataDeleteAfterCommitEnabledDefault) {
		return
	}
	tableLoc, err := s.CheckStoredLocation(st.written.TableLocation)
	if err != nil {
		s.log.WarnContext(ctx, "old metadata files kept: the table location is outside the allowed area", "table", st.change.ID.String(), "err", err)
		return
	}
	kept := map[string]bool{}
	for e := range st.written.Parsed.PreviousFiles() {
		kept[e.MetadataFile] = true
	}
	for e := range st.current.Parsed.PreviousFiles() {
		if !kept[e.MetadataFile] {
			if err := s.files.DeleteIn(ctx, tableLoc, e.MetadataFile); err != nil {
				s.log.WarnContext(ctx, "could not delete an old metadata file", "table", st.change.ID.String(), "location", e.MetadataFile, "err", err)
			}
		}
	}
}
