package config

import (
	"fmt"
	"net/url"
)

// VendedCredentials says what clients that send
// X-Iceberg-Access-Delegation: vended-credentials receive.
type VendedCredentials struct {
	// STS vends temporary keys scoped to each table's location.
	STS STS `yaml:"sts"`
	// StaticKeys hands out s3.accessKeyID and s3.secretAccessKey themselves,
	// unscoped and without expiry, as the Java server does. Off unless set;
	// ignored when STS is configured.
	StaticKeys bool `yaml:"staticKeys"`
}

// STS configures AssumeRole calls. STS is on when roleARN is set or any
// principal has accessConfig.awsAssumeRoleARN.
type STS struct {
	// Endpoint is the STS URL; empty means AWS STS for region. For MinIO,
	// its S3 endpoint.
	Endpoint string `yaml:"endpoint"`
	// Region of the STS client; default s3.region, else us-east-1.
	Region string `yaml:"region"`
	// RoleARN is assumed for principals without a role of their own.
	RoleARN string `yaml:"roleARN"`
	// DurationSeconds of each credential, 900..43200; default 3600.
	DurationSeconds int `yaml:"durationSeconds"`
}

// STSEnabled reports whether STS vending is configured for anyone.
func (c *Config) STSEnabled() bool {
	if c.VendedCredentials.STS.RoleARN != "" {
		return true
	}
	for _, t := range c.BearerTokens {
		if t.AccessConfig.AWSAssumeRoleARN != "" {
			return true
		}
	}
	return c.AnonymousAccess.AccessConfig != nil && c.AnonymousAccess.AccessConfig.AWSAssumeRoleARN != ""
}

// RemoteSigning configures the sign endpoints, for stores without STS.
type RemoteSigning struct {
	Enabled bool `yaml:"enabled"`
	// SignerURI is advertised as s3.signer.uri; empty lets clients use the
	// catalog URI they were configured with.
	SignerURI string `yaml:"signerURI"`
}

func (c *Config) checkCredentials() error {
	s := c.VendedCredentials.STS
	if d := s.DurationSeconds; d != 0 && (d < 900 || d > 43200) {
		return fmt.Errorf("vendedCredentials.sts.durationSeconds %d is outside STS's 900..43200", d)
	}
	if s.Endpoint != "" {
		if u, err := url.Parse(s.Endpoint); err != nil || u.Host == "" {
			return fmt.Errorf("vendedCredentials.sts.endpoint %q is not a URL", s.Endpoint)
		}
	}
	return nil
}
