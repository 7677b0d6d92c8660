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

// TestFromConfigCompaction reads the compaction keys with Java ice's
// rules: a target below 64 MB means 512, -1 means any age, and the jobs
// select the compaction jobs.
func TestFromConfigCompaction(t *testing.T) {
	for _, c := range []struct {
		text   string
		target int64
		inputs int
		age    time.Duration
		jobs   []string
	}{
		{"maintenance: {targetFileSizeMB: 256, minInputFiles: 4, dataCompactionCandidateMinAgeInHours: 6, jobs: [DATA_COMPACTION, MANIFEST_COMPACTION]}\n",
			256 << 20, 4, 6 * time.Hour, []string{maintenance.JobDataCompaction, maintenance.JobManifestCompaction}},
		{"maintenance: {targetFileSizeMB: 10, dataCompactionCandidateMinAgeInHours: -1, jobs: [DATA_COMPACTION]}\n",
			0, 0, -1, []string{maintenance.JobDataCompaction}},
	} {
		cfg, _, _, err := maintenance.FromConfig(mustParse(t, c.text))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.TargetFileSize != c.target || cfg.MinInputFiles != c.inputs || cfg.CandidateMinAge != c.age || len(cfg.Jobs) != len(c.jobs) {
			t.Errorf("%q: %+v", c.text, cfg)
		}
		for _, j := range c.jobs {
			if !cfg.Jobs[j] {
				t.Errorf("%q: job %s not selected", c.text, j)
			}
		}
	}
}

func mustParse(t *testing.T, text string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte("anonymousAccess: {enabled: true}\n"+text), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return c
}
