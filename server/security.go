package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ice-rest-catalog/ice/auth"
	"github.com/ice-rest-catalog/ice/config"
	"github.com/ice-rest-catalog/ice/etcd"
)

// security is who may use the API and what they may do.
type security struct {
	authn *auth.Authenticator
	authz *auth.Authorizer
	oauth *auth.OAuth
}

// newSecurity builds authentication and authorization from the config. The
// OAuth signing key comes from the config, or from etcd, where the first
// replica to start stores a fresh one. With a nil cli it only checks the
// config, with a throwaway key.
func newSecurity(ctx context.Context, cfg *config.Config, cli *clientv3.Client, log *slog.Logger) (*security, error) {
	var s security
	ac := auth.Config{}
	for _, t := range cfg.BearerTokens {
		ac.Tokens = append(ac.Tokens, auth.Token{Name: t.Name, Value: t.Value, ReadOnly: t.AccessConfig.ReadOnly})
	}
	if cfg.AnonymousAccess.Enabled {
		ac.Anonymous = &auth.Principal{Name: "anonymous", ReadOnly: cfg.AnonymousAccess.AnonymousReadOnly()}
	}
	if len(cfg.OAuth.Clients) > 0 {
		key, err := oauthSigningKey(ctx, cfg, cli, log)
		if err != nil {
			return nil, err
		}
		oc := auth.OAuthConfig{Key: key, TTL: cfg.OAuth.TokenTTL, Audience: auth.Issuer + ":" + cfg.Name}
		for _, c := range cfg.OAuth.Clients {
			oc.Clients = append(oc.Clients, auth.OAuthClient{ID: c.ID, SecretHash: c.SecretHash, Groups: c.Groups, ReadOnly: c.AccessConfig.ReadOnly})
		}
		if s.oauth, err = auth.NewOAuth(oc); err != nil {
			return nil, fmt.Errorf("oauth: %w", err)
		}
		ac.OAuth = s.oauth
	}
	if o := cfg.OIDC; o.Issuer != "" || o.Audience != "" {
		v, err := auth.NewOIDC(auth.OIDCConfig{Issuer: o.Issuer, Audience: o.Audience, SubjectClaim: o.SubjectClaim,
			GroupsClaim: o.GroupsClaim, CacheTTL: o.JWKSCacheTTL, MinRefresh: o.JWKSMinRefresh})
		if err != nil {
			return nil, err
		}
		ac.OIDC = v
	}
	var err error
	if s.authn, err = auth.New(ac); err != nil {
		return nil, err
	}
	var rules []auth.Rule
	for i, r := range cfg.Authorization.Rules {
		lvl, err := auth.ParseLevel(r.Access)
		if err != nil {
			return nil, fmt.Errorf("authorization rule %d: %w", i+1, err)
		}
		rules = append(rules, auth.Rule{Principals: r.Principals, Namespaces: r.Namespaces, Access: lvl})
	}
	if s.authz, err = auth.NewAuthorizer(rules); err != nil {
		return nil, err
	}
	return &s, nil
}

func oauthSigningKey(ctx context.Context, cfg *config.Config, cli *clientv3.Client, log *slog.Logger) ([]byte, error) {
	if cfg.OAuth.SigningKey != "" {
		key, err := base64.StdEncoding.DecodeString(cfg.OAuth.SigningKey)
		if err != nil {
			return nil, fmt.Errorf("oauth.signingKey is not base64: %w", err)
		}
		if len(key) < auth.MinKeyBytes {
			return nil, fmt.Errorf("oauth.signingKey holds %d bytes; at least %d are required (openssl rand -base64 32)", len(key), auth.MinKeyBytes)
		}
		return key, nil
	}
	fresh, err := auth.NewSigningKey()
	if err != nil || cli == nil {
		return fresh, err
	}
	name := etcd.OAuthSigningKeyKey(cfg.Name)
	key, err := etcd.LoadOrCreateSecret(ctx, cli, name, fresh)
	if err != nil {
		return nil, err
	}
	log.Info("oauth signing key loaded from etcd", "key", name, "created", string(key) == string(fresh))
	return key, nil
}

// etcdClientConfig adds the etcd section's TLS and credentials to a client
// config for an external etcd.
func etcdClientConfig(cfg *config.Config, endpoints []string) (clientv3.Config, error) {
	cc := clientv3.Config{Endpoints: endpoints, Username: cfg.Etcd.Username, Password: cfg.Etcd.Password}
	e := cfg.Etcd
	if e.CAFile == "" && e.CertFile == "" && e.KeyFile == "" {
		return cc, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if e.CAFile != "" {
		pem, err := os.ReadFile(e.CAFile)
		if err != nil {
			return cc, fmt.Errorf("etcd.caFile: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return cc, fmt.Errorf("etcd.caFile %s holds no PEM certificate", e.CAFile)
		}
	}
	if (e.CertFile == "") != (e.KeyFile == "") {
		return cc, errors.New("etcd.certFile and etcd.keyFile go together")
	}
	if e.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(e.CertFile, e.KeyFile)
		if err != nil {
			return cc, fmt.Errorf("etcd client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	cc.TLS = tc
	return cc, nil
}
