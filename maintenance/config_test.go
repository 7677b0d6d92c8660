package maintenance_test

import (
	"testing"
	"time"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/maintenance"
)

func TestFromConfig(t *testing.T) {
	parse := func(text string) *config.Config {
		t.Helper()
		c, err := config.Parse([]byte("anonymousAccess: {enabled: true}\n"+text), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// The Java server's older keys.
	cfg, _, scheduled, err := maintenance.FromConfig(parse("maintenanceSchedule: every day 00:00\nsnapshotTTLInDays: 7\norphanFileExpirationDays: 2\n"))
	if err != nil || !scheduled || cfg.MaxSnapshotAge != 7*24*time.Hour || cfg.OrphanRetention != 48*time.Hour || cfg.Jobs != nil {
		t.Fatalf("%+v scheduled=%v err=%v", cfg, scheduled, err)
	}
	// The maintenance section wins, and selects jobs.
	cfg, _, scheduled, err = maintenance.FromConfig(parse(`snapshotTTLInDays: 7
maintenance:
  jobs: [SNAPSHOT_CLEANUP, DATA_COMPACTION]
  maxSnapshotAgeHours: 12
  minSnapshotsToKeep: 3
  orphanFileRetentionPeriodInDays: -1
  dryRun: true
`))
	if err != nil || scheduled || cfg.MaxSnapshotAge != 12*time.Hour || cfg.MinSnapshotsToKeep != 3 || !cfg.SkipOrphans || !cfg.DryRun ||
		!cfg.Jobs[maintenance.JobExpireSnapshots] || !cfg.Jobs[maintenance.JobMetadataFiles] || cfg.Jobs[maintenance.JobOrphanFiles] {
		t.Fatalf("%+v scheduled=%v err=%v", cfg, scheduled, err)
	}
	for _, bad := range []string{"maintenanceSchedule: sometimes\n", "maintenance: {jobs: [VACUUM]}\n"} {
		if _, _, _, err := maintenance.FromConfig(parse(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
