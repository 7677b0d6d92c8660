package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/ice-rest-catalog/ice/config"
)

func ignoredNames(c *config.Config) string {
	var names []string
	for _, k := range c.Ignored() {
		if k.Reason == "" {
			panic("ignored key " + k.Key + " without a reason")
		}
		names = append(names, k.Key)
	}
	return strings.Join(names, ",")
}

// fixtureEnv sets the ${...} references of testdata/java-ice-v0.19.yaml.
var fixtureEnv = env(map[string]string{
	"ICE_FIXTURE_ADDR": "127.0.0.1:0", "ICE_FIXTURE_DEBUG_ADDR": "127.0.0.1:0",
	"ICE_FIXTURE_ETCD": "http://127.0.0.1:2379", "ICE_FIXTURE_BUCKET": "lake",
	"ICE_FIXTURE_S3_ENDPOINT": "http://127.0.0.1:9000", "ICE_FIXTURE_S3_ACCESS_KEY": "ak",
	"ICE_FIXTURE_S3_SECRET_KEY": "sk", "ICE_FIXTURE_TOKEN": "tok",
})

// TestJavaV019FixtureParses reads a Java ice v0.19 config that sets every
// key of its Config, MaintenanceConfig, CommitRetryConfig and
// CommitLockConfig, and checks the keys we act on arrive with their values
// and the others are reported by name, with a reason.
func TestJavaV019FixtureParses(t *testing.T) {
	data, err := os.ReadFile("testdata/java-ice-v0.19.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(data, fixtureEnv)
	if err != nil {
		t.Fatalf("the v0.19 fixture is refused: %v", err)
	}
	if got, want := c.CommitRetry, (config.CommitRetry{NumRetries: 10, MinWaitMs: 50, MaxWaitMs: 2000, TotalTimeoutMs: 60000}); got != want {
		t.Errorf("commitRetry = %+v, want %+v", got, want)
	}
	if got, want := c.CommitLock, (config.CommitLock{Enabled: true, LeaseTTLSeconds: 20, AcquireTimeoutMs: 15000}); got != want {
		t.Errorf("commitLock = %+v, want %+v", got, want)
	}
	m := c.Maintenance
	if len(m.Jobs) != 4 || m.TargetFileSizeMB != 256 || m.MinInputFiles != 4 || m.DataCompactionCandidateMinAgeInHours != 6 ||
		m.MaxSnapshotAgeHours != 120 || m.MinSnapshotsToKeep != 2 || m.OrphanFileRetentionPeriodInDays != 5 {
		t.Errorf("maintenance = %+v", m)
	}
	if got, want := ignoredNames(c), "adminAddr,iceberg,maintenance.orphanWhitelist"; got != want {
		t.Errorf("ignored keys = %s, want %s", got, want)
	}
}

// TestCommitRetryAndLockDefaults: absent or non-positive values take Java
// ice's defaults (Iceberg's commit.retry.* and CommitLockConfig's).
func TestCommitRetryAndLockDefaults(t *testing.T) {
	for _, text := range []string{"", "commitRetry: {}\ncommitLock: {}\n",
		"commitRetry: {numRetries: 0, minWaitMs: -1, maxWaitMs: 0, totalTimeoutMs: -5}\ncommitLock: {leaseTtlSeconds: 0, acquireTimeoutMs: -1}\n"} {
		// A config needs a way in (config.Parse refuses one without).
		c, err := config.Parse([]byte("anonymousAccess: {enabled: true}\n"+text), env(nil))
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if got, want := c.CommitRetry, (config.CommitRetry{NumRetries: 4, MinWaitMs: 100, MaxWaitMs: 60000, TotalTimeoutMs: 1800000}); got != want {
			t.Errorf("%q: commitRetry = %+v, want %+v", text, got, want)
		}
		if got, want := c.CommitLock, (config.CommitLock{Enabled: false, LeaseTTLSeconds: 30, AcquireTimeoutMs: 30000}); got != want {
			t.Errorf("%q: commitLock = %+v, want %+v", text, got, want)
		}
	}
	_, err := config.Parse([]byte("commitRetry: {numRetrys: 3}\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "numRetrys") {
		t.Errorf("a misspelt commitRetry key: %v, want an error naming it", err)
	}
}
