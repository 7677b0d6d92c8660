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
	if len(m.Jobs) > 0 {
		cfg.Jobs = map[string]bool{}
		for _, j := range m.Jobs {
			switch strings.ToUpper(j) {
			case "SNAPSHOT_CLEANUP":
				cfg.Jobs[JobExpireSnapshots] = true
				cfg.Jobs[JobMetadataFiles] = true
			case "ORPHAN_CLEANUP":
				cfg.Jobs[JobOrphanFiles] = true
			case "MANIFEST_COMPACTION", "DATA_COMPACTION":
				// Accepted for compatibility; compaction is not done here.
			default:
				return cfg, sched, false, fmt.Errorf("maintenance.jobs: unknown job %q (SNAPSHOT_CLEANUP, ORPHAN_CLEANUP)", j)
			}
		}
	}
	if c.MaintenanceSchedule == "" {
		return cfg, sched, false, nil
	}
	sched, err = ParseSchedule(c.MaintenanceSchedule)
	return cfg, sched, err == nil, err
}
