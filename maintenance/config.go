package maintenance

import (
	"fmt"
	"strings"
	"time"

	"github.com/ice-rest-catalog/ice/config"
)

// FromConfig reads the maintenance settings of the server's config. The
// schedule is zero (ok false) when maintenanceSchedule is empty: no
// scheduled maintenance, perform-maintenance still works.
func FromConfig(c *config.Config) (cfg Config, sched Schedule, scheduled bool, err error) {
	m := c.Maintenance
	switch {
	case m.MaxSnapshotAgeHours > 0:
		cfg.MaxSnapshotAge = time.Duration(m.MaxSnapshotAgeHours) * time.Hour
	case c.SnapshotTTLInDays > 0:
		cfg.MaxSnapshotAge = time.Duration(c.SnapshotTTLInDays) * 24 * time.Hour
	}
	cfg.MinSnapshotsToKeep = m.MinSnapshotsToKeep
	switch {
	case m.OrphanFileRetentionPeriodInDays > 0:
		cfg.OrphanRetention = time.Duration(m.OrphanFileRetentionPeriodInDays) * 24 * time.Hour
	case m.OrphanFileRetentionPeriodInDays < 0:
		cfg.SkipOrphans = true
	case c.OrphanFileExpirationDays > 0:
		cfg.OrphanRetention = time.Duration(c.OrphanFileExpirationDays) * 24 * time.Hour
	}
	cfg.DryRun = m.DryRun
	// As in Java ice: a target below 64 MB means the default (512), and a
	// minimum age of -1 means any age.
	if m.TargetFileSizeMB >= 64 {
		cfg.TargetFileSize = int64(m.TargetFileSizeMB) << 20
	}
	cfg.MinInputFiles = m.MinInputFiles
	switch {
	case m.DataCompactionCandidateMinAgeInHours > 0:
		cfg.CandidateMinAge = time.Duration(m.DataCompactionCandidateMinAgeInHours) * time.Hour
	case m.DataCompactionCandidateMinAgeInHours < 0:
		cfg.CandidateMinAge = -1
	}
	if len(m.Jobs) > 0 {
		cfg.Jobs = map[string]bool{}
		for _, j := range m.Jobs {
			switch strings.ToUpper(j) {
			case "SNAPSHOT_CLEANUP":
				cfg.Jobs[JobExpireSnapshots] = true
				cfg.Jobs[JobMetadataFiles] = true
			case "ORPHAN_CLEANUP":
				cfg.Jobs[JobOrphanFiles] = true
			case "DATA_COMPACTION":
				cfg.Jobs[JobDataCompaction] = true
			case "MANIFEST_COMPACTION":
				cfg.Jobs[JobManifestCompaction] = true
			default:
				return cfg, sched, false, fmt.Errorf("maintenance.jobs: unknown job %q (MANIFEST_COMPACTION, DATA_COMPACTION, SNAPSHOT_CLEANUP, ORPHAN_CLEANUP)", j)
			}
		}
	}
	if c.MaintenanceSchedule == "" {
		return cfg, sched, false, nil
	}
	sched, err = ParseSchedule(c.MaintenanceSchedule)
	return cfg, sched, err == nil, err
}
