package service

import (
	"context"
	"fmt"

	ice "github.com/ice-rest-catalog/ice"
)

// TableAt returns a table as a recorded commit left it: the metadata file at
// location, which is never rewritten, so a replayed answer is the original
// one even if the table moved on since.
func (s *Service) TableAt(ctx context.Context, id ice.TableIdent, location string) (*Table, error) {
	md, err := s.files.ReadMetadata(ctx, location)
	if err != nil {
		return nil, fmt.Errorf("read committed metadata of %s: %w", id, err)
	}
	return &Table{ID: id, Location: location, Metadata: md}, nil
}
