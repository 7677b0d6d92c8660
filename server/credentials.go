package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/credentials"
)

// storageAccess builds what gives clients access to table files: an STS
// vendor and a remote signer, each only if the config asks for it. Both
// act with the catalog's own storage identity: s3.accessKeyID if set,
// else the AWS SDK's default chain.
func storageAccess(ctx context.Context, cfg *config.Config, log *slog.Logger) (*credentials.Vendor, *credentials.Signer, error) {
	if !cfg.STSEnabled() && !cfg.RemoteSigning.Enabled {
		return nil, nil, nil
	}
	region := cfg.S3.Region
	if region == "" {
		region = "us-east-1"
	}
	var provider aws.CredentialsProvider
	if cfg.S3.AccessKeyID != "" {
		provider = awscreds.NewStaticCredentialsProvider(cfg.S3.AccessKeyID, cfg.S3.SecretAccessKey, "")
	} else {
		ac, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
		if err != nil {
			return nil, nil, fmt.Errorf("load AWS credentials for vending and signing: %w", err)
		}
		provider = ac.Credentials
	}
	// Cached so that a credential chain (IRSA, instance role) is not
	// asked again for every signature.
	provider = aws.NewCredentialsCache(provider)

	var vendor *credentials.Vendor
	if cfg.STSEnabled() {
		s := cfg.VendedCredentials.STS
		roles := map[string]string{}
		for _, t := range cfg.BearerTokens {
			if t.AccessConfig.AWSAssumeRoleARN != "" {
				roles[tokenPrincipal(t.Name)] = t.AccessConfig.AWSAssumeRoleARN
			}
		}
		if a := cfg.AnonymousAccess.AccessConfig; a != nil && a.AWSAssumeRoleARN != "" {
			roles["anonymous"] = a.AWSAssumeRoleARN
		}
		stsRegion := s.Region
		if stsRegion == "" {
			stsRegion = region
		}
		var err error
		vendor, err = credentials.NewVendor(credentials.STSConfig{
			Endpoint: s.Endpoint, Region: stsRegion, RoleARN: s.RoleARN, RoleARNs: roles,
			Duration: time.Duration(s.DurationSeconds) * time.Second, Credentials: provider,
		})
		if err != nil {
			return nil, nil, err
		}
		log.Info("vending STS credentials scoped to each table", "sts", s.Endpoint, "role", s.RoleARN, "principalRoles", len(roles))
	}
	var signer *credentials.Signer
	if cfg.RemoteSigning.Enabled {
		var err error
		signer, err = credentials.NewSigner(credentials.SignerConfig{Credentials: provider, Region: region,
			Endpoint: cfg.S3.Endpoint, PathStyle: cfg.S3.PathStyleAccess})
		if err != nil {
			return nil, nil, err
		}
		log.Info("remote signing enabled", "endpoint", cfg.S3.Endpoint)
	}
	return vendor, signer, nil
}

// tokenPrincipal is the principal name auth gives a bearer token.
func tokenPrincipal(name string) string {
	if name == "" {
		return "token"
	}
	return "token:" + name
}
