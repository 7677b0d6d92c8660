// Package config reads the server's YAML configuration. Its keys are those
// of the Java ice-rest-catalog, so an existing config file works unchanged.
package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration. Keys marked "accepted" exist in the
// Java server's config; they are read so those files keep working, and the
// server logs which of them it does not act on.
type Config struct {
	Addr      string `yaml:"addr"`
	DebugAddr string `yaml:"debugAddr"`
	AdminAddr string `yaml:"adminAddr"` // accepted
	Name      string `yaml:"name"`
	// URI is "etcd:http://h1:2379,http://h2:2379"; empty means embedded etcd.
	URI                      string            `yaml:"uri"`
	Warehouse                string            `yaml:"warehouse"`
	LocalFileIOBaseDir       string            `yaml:"localFileIOBaseDir"`
	S3                       S3                `yaml:"s3"`
	BearerTokens             []Token           `yaml:"bearerTokens"`
	AnonymousAccess          AnonymousAccess   `yaml:"anonymousAccess"`
	LoadTableProperties      map[string]string `yaml:"loadTableProperties"`
	Iceberg                  map[string]string `yaml:"iceberg"`                  // accepted
	MaintenanceSchedule      string            `yaml:"maintenanceSchedule"`      // see docs/maintenance.md
	SnapshotTTLInDays        int               `yaml:"snapshotTTLInDays"`        // default max snapshot age
	OrphanFileExpirationDays int               `yaml:"orphanFileExpirationDays"` // default orphan retention
	Maintenance              Maintenance       `yaml:"maintenance"`
	CommitRetry              CommitRetry       `yaml:"commitRetry"` // see commit.go
	CommitLock               CommitLock        `yaml:"commitLock"`  // see commit.go

	// Keys of this implementation.
	DataDir             string `yaml:"dataDir"`             // embedded etcd and default warehouse; default ./data
	MaxRequestBodyBytes int64  `yaml:"maxRequestBodyBytes"` // default 16 MiB
	MetadataCacheBytes  int64  `yaml:"metadataCacheBytes"`  // default 32 MiB
	// MaxMetadataFileBytes bounds a metadata file read, stored and
	// decompressed; default 64 MiB.
	MaxMetadataFileBytes int64 `yaml:"maxMetadataFileBytes"`
	// AllowedLocations are prefixes outside the warehouse where tables may
	// live (migrated tables), e.g. [s3://lake/]; see ice.LocationRule.
	AllowedLocations []string `yaml:"allowedLocations"`

	// Security, transport and timeouts: security.go.
	OAuth         OAuth         `yaml:"oauth"`
	OIDC          OIDC          `yaml:"oidc"`
	Authorization Authorization `yaml:"authorization"`
	TLS           TLS           `yaml:"tls"`
	Etcd          Etcd          `yaml:"etcd"`
	Timeouts      Timeouts      `yaml:",inline"`

	// Limits on what one client can make the server hold: limits.go.
	Limits Limits `yaml:"limits"`

	// IdempotencyKeyLifetime is an ISO-8601 duration; default PT30M.
	IdempotencyKeyLifetime string `yaml:"idempotencyKeyLifetime"`

	// Server-side scan planning; see scanplanning.go.
	ScanPlanning ScanPlanning `yaml:"scanPlanning"`

	// The change feed's delivery and soft drop: events.go.
	Events   Events   `yaml:"events"`
	SoftDrop SoftDrop `yaml:"softDrop"`

	// Storage access for clients: config/credentials.go.
	VendedCredentials VendedCredentials `yaml:"vendedCredentials"`
	RemoteSigning     RemoteSigning     `yaml:"remoteSigning"`

	// ShutdownGracePeriod is how long SIGTERM lets requests in flight
	// finish ("30s"); default 10s. Keep it under the pod's
	// terminationGracePeriodSeconds.
	ShutdownGracePeriod time.Duration `yaml:"shutdownGracePeriod"`

	// Console is the web console at /ui/: console.go.
	Console Console `yaml:"console"`
}

// Maintenance tunes the maintenance jobs; the keys are those of the Java
// ice-rest-catalog's maintenance settings. Zero values take the defaults.
type Maintenance struct {
	// Jobs selects jobs: SNAPSHOT_CLEANUP (expire snapshots and delete old
	// metadata files), ORPHAN_CLEANUP, DATA_COMPACTION and
	// MANIFEST_COMPACTION. Empty means all.
	Jobs                []string `yaml:"jobs"`
	MaxSnapshotAgeHours int      `yaml:"maxSnapshotAgeHours"` // default snapshotTTLInDays, else 5 days
	MinSnapshotsToKeep  int      `yaml:"minSnapshotsToKeep"`  // default 1
	// OrphanFileRetentionPeriodInDays defaults to orphanFileExpirationDays,
	// else 3; -1 turns the orphan job off.
	OrphanFileRetentionPeriodInDays int      `yaml:"orphanFileRetentionPeriodInDays"`
	DryRun                          bool     `yaml:"dryRun"`
	OrphanWhitelist                 []string `yaml:"orphanWhitelist"` // accepted
	// Data compaction, as in Java ice: files smaller than targetFileSizeMB
	// (below 64 means 512) written at least
	// dataCompactionCandidateMinAgeInHours ago (0 means 3; -1 means any
	// age) are merged once a partition has minInputFiles of them (0 means 5).
	TargetFileSizeMB                     int `yaml:"targetFileSizeMB"`
	MinInputFiles                        int `yaml:"minInputFiles"`
	DataCompactionCandidateMinAgeInHours int `yaml:"dataCompactionCandidateMinAgeInHours"`
}

// S3 is how the catalog reaches S3-compatible storage.
type S3 struct {
	Endpoint        string `yaml:"endpoint"`
	PathStyleAccess bool   `yaml:"pathStyleAccess"`
	AccessKeyID     string `yaml:"accessKeyID"`
	SecretAccessKey string `yaml:"secretAccessKey"`
	Region          string `yaml:"region"`
}

// Token is a bearer token.
type Token struct {
	Name         string       `yaml:"name"`
	Value        string       `yaml:"value"`
	AccessConfig AccessConfig `yaml:"accessConfig"`
}

// AccessConfig limits what a principal may do.
type AccessConfig struct {
	ReadOnly         bool   `yaml:"readOnly"`
	AWSAssumeRoleARN string `yaml:"awsAssumeRoleARN"` // accepted
}

// AnonymousAccess lets requests without credentials in. As in the Java
// server, anonymous access is read-only unless accessConfig says otherwise.
type AnonymousAccess struct {
	Enabled      bool          `yaml:"enabled"`
	AccessConfig *AccessConfig `yaml:"accessConfig"`
}

// AnonymousReadOnly reports whether anonymous clients may only read.
func (a AnonymousAccess) AnonymousReadOnly() bool {
	return a.AccessConfig == nil || a.AccessConfig.ReadOnly
}

// Source says where a configuration came from.
type Source string

// SourceNone means no configuration was found: the embedded default.
const SourceNone Source = ""

// Env is how Find reads the environment; os.Getenv in production.
type Env func(string) string

// Find locates and loads the configuration, in order: the --config flag,
// $ICE_REST_CATALOG_CONFIG, ./.ice-rest-catalog.yaml, and YAML text in
// $ICE_REST_CATALOG_CONFIG_YAML. With none, it returns the embedded default.
func Find(flagPath string, env Env) (*Config, Source, error) {
	path := flagPath
	if path == "" {
		path = env("ICE_REST_CATALOG_CONFIG")
	}
	if path == "" {
		if _, err := os.Stat(".ice-rest-catalog.yaml"); err == nil {
			path = ".ice-rest-catalog.yaml"
		}
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, "", fmt.Errorf("read config: %w", err)
		}
		c, err := Parse(data, env)
		if err != nil {
			return nil, "", fmt.Errorf("config %s: %w", path, err)
		}
		return c, Source(path), nil
	}
	if text := env("ICE_REST_CATALOG_CONFIG_YAML"); text != "" {
		c, err := Parse([]byte(text), env)
		if err != nil {
			return nil, "", fmt.Errorf("config from $ICE_REST_CATALOG_CONFIG_YAML: %w", err)
		}
		return c, "$ICE_REST_CATALOG_CONFIG_YAML", nil
	}
	c, err := Parse(nil, env)
	return c, SourceNone, err
}

// EmbeddedDefault is the configuration used when none is given: embedded
// etcd and a local warehouse under ./data, loopback only, anonymous
// read-write access.
func EmbeddedDefault() *Config {
	consoleOn := true
	return &Config{
		Addr:            "127.0.0.1:5000",
		DebugAddr:       "127.0.0.1:5001",
		AnonymousAccess: AnonymousAccess{Enabled: true, AccessConfig: &AccessConfig{ReadOnly: false}},
		Console:         Console{Enabled: &consoleOn},
	}
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Parse is the one validation of a config, used by start-up (through Find)
// and by check-config alike. It decodes YAML text strictly: an unknown key
// is a problem that names it. ${VAR} in any value is replaced by the
// environment variable; an unset variable is a problem, so a typo cannot
// silently become an empty secret. Then it checks every value that start-up
// would refuse (addresses, etcd endpoints, the warehouse, who may get in,
// OAuth, OIDC, access rules, ...). It reports every problem in one pass, each
// at its line where there is one, as a Problems error. Empty text yields
// the embedded default.
func Parse(data []byte, env Env) (*Config, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		c := EmbeddedDefault()
		if err := c.applyDefaults(); err != nil {
			return nil, Problems{{0, err.Error()}}
		}
		if ps := c.check(lines{}); len(ps) > 0 {
			return nil, ps
		}
		return c, nil
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		ps := decodeProblems(err)
		for i := range ps {
			ps[i].Msg = "invalid YAML: " + ps[i].Msg
		}
		return nil, ps
	}
	var ps Problems
	// Unknown keys are found in the text as written, so their lines are
	// the file's; the values are checked after ${VAR} expansion below.
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	var raw Config
	if err := strict.Decode(&raw); err != nil {
		for _, p := range decodeProblems(err) {
			if strings.Contains(p.Msg, "is not a known config key") {
				ps = append(ps, p)
			}
		}
	}
	ps = append(ps, expandEnv(&root, env)...)
	var c Config
	if err := root.Decode(&c); err != nil {
		ps = append(ps, decodeProblems(err)...)
	}
	if err := c.applyDefaults(); err != nil {
		ps = append(ps, Problem{0, err.Error()})
	}
	ps = append(ps, c.check(lines{&root})...)
	if len(ps) > 0 {
		sort.SliceStable(ps, func(i, j int) bool {
			a, b := ps[i].Line, ps[j].Line
			return a != 0 && (b == 0 || a < b)
		})
		return nil, ps
	}
	return &c, nil
}

func expandEnv(n *yaml.Node, env Env) Problems {
	var ps Problems
	if n.Kind == yaml.ScalarNode {
		orig := n.Value
		var missing []string
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			v := env(name)
			if v == "" {
				missing = append(missing, name)
			}
			return v
		})
		if len(missing) > 0 {
			ps = append(ps, Problem{n.Line, fmt.Sprintf("environment variable %s is not set or empty", strings.Join(missing, ", "))})
		}
		if n.Value != orig && n.Style == 0 {
			// An unquoted ${VAR} takes the type of its value, so that
			// pathStyleAccess: ${PATH_STYLE} can be a boolean.
			n.Tag = ""
		}
	}
	for _, c := range n.Content {
		ps = append(ps, expandEnv(c, env)...)
	}
	return ps
}

// applyDefaults fills the unset values; check (validate.go) judges them.
func (c *Config) applyDefaults() error {
	if c.Addr == "" {
		c.Addr = "0.0.0.0:5000"
	}
	if c.DebugAddr == "" {
		c.DebugAddr = "0.0.0.0:5001"
	}
	if c.Name == "" {
		c.Name = "default"
	}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	c.CommitRetry.applyDefaults()
	c.CommitLock.applyDefaults()
	if c.ShutdownGracePeriod == 0 {
		c.ShutdownGracePeriod = 10 * time.Second
	}
	if c.Warehouse == "" && c.URI == "" {
		abs, err := filepath.Abs(filepath.Join(c.DataDir, "warehouse"))
		if err != nil {
			return fmt.Errorf("dataDir: %w", err)
		}
		c.Warehouse = "file://" + abs
	}
	return nil
}

// EtcdEndpoints returns the endpoints of uri, or nil for the embedded etcd.
func (c *Config) EtcdEndpoints() []string {
	if c.URI == "" {
		return nil
	}
	var out []string
	for _, e := range strings.Split(strings.TrimPrefix(c.URI, "etcd:"), ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// IgnoredKey is a key that is set but that this server does not act on.
type IgnoredKey struct {
	Key    string
	Reason string
}

func (k IgnoredKey) String() string { return k.Key + " (" + k.Reason + ")" }

// Ignored lists the keys that are set but that this server does not act
// on, each with the reason, so start-up and check-config can name them.
func (c *Config) Ignored() []IgnoredKey {
	var out []IgnoredKey
	if c.AdminAddr != "" {
		out = append(out, IgnoredKey{"adminAddr", "this server has no separate admin listener; admin operations are served on addr to principals with admin access"})
	}
	if len(c.Iceberg) > 0 {
		out = append(out, IgnoredKey{"iceberg", "these are Java Iceberg catalog and FileIO properties; storage is configured by warehouse and s3"})
	}
	if len(c.Maintenance.OrphanWhitelist) > 0 {
		out = append(out, IgnoredKey{"maintenance.orphanWhitelist", "orphan cleanup only ever considers files under each table's own location, never other paths"})
	}
	return out
}
