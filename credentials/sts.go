package credentials

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	ice "github.com/ice-rest-catalog/ice"
)

// Credential is one set of temporary keys.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expires         time.Time
}

// Config returns the keys as the table config properties Iceberg clients
// read (S3FileIO, PyIceberg, iceberg-go).
func (c Credential) Config() map[string]string {
	m := map[string]string{
		"s3.access-key-id":     c.AccessKeyID,
		"s3.secret-access-key": c.SecretAccessKey,
	}
	if c.SessionToken != "" {
		m["s3.session-token"] = c.SessionToken
	}
	if !c.Expires.IsZero() {
		m["s3.session-token-expires-at-ms"] = fmt.Sprint(c.Expires.UnixMilli())
	}
	return m
}

// STSConfig configures a Vendor.
type STSConfig struct {
	// Endpoint is the STS URL; empty means AWS's for Region. MinIO serves
	// STS on its S3 port.
	Endpoint string
	Region   string
	// RoleARN is the role assumed for principals without one of their own
	// in RoleARNs. MinIO ignores the value but the API requires one.
	RoleARN string
	// RoleARNs maps principal names ("token:etl") to their own role.
	RoleARNs map[string]string
	// Duration of each credential; STS allows 15 minutes to 12 hours.
	// Default 1 hour.
	Duration time.Duration
	// Credentials sign the AssumeRole calls: the catalog's own identity.
	Credentials aws.CredentialsProvider
	HTTPClient  *http.Client
	// MaxCached bounds the cache; default 10000 entries.
	MaxCached int
	// Now is the clock; tests move it. Default time.Now.
	Now func() time.Time
}

// Vendor hands out STS credentials scoped to one table location. One
// AssumeRole result serves every load of the same (role, location,
// access) until it nears expiry, so a busy table costs one STS call per
// refresh period, not one per loadTable.
type Vendor struct {
	client *sts.Client
	cfg    STSConfig
	mu     sync.Mutex
	cache  map[vendKey]*vendEntry
}

type vendKey struct {
	role, location string
	access         Access
}

type vendEntry struct {
	done chan struct{} // closed when cred/err are set
	cred Credential
	err  error
}

// NewVendor checks cfg and builds the STS client. It does no I/O.
func NewVendor(cfg STSConfig) (*Vendor, error) {
	if cfg.RoleARN == "" && len(cfg.RoleARNs) == 0 {
		return nil, errors.New("sts: no role ARN: set vendedCredentials.sts.roleARN or a token's accessConfig.awsAssumeRoleARN")
	}
	if cfg.Duration == 0 {
		cfg.Duration = time.Hour
	}
	if cfg.Duration < 15*time.Minute || cfg.Duration > 12*time.Hour {
		return nil, fmt.Errorf("sts: duration %v is outside STS's 15m..12h", cfg.Duration)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.MaxCached <= 0 {
		cfg.MaxCached = 10000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Credentials == nil {
		return nil, errors.New("sts: no credentials to call AssumeRole with")
	}
	opts := sts.Options{Region: cfg.Region, Credentials: cfg.Credentials}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(cfg.Endpoint)
	}
	if cfg.HTTPClient != nil {
		opts.HTTPClient = cfg.HTTPClient
	}
	return &Vendor{client: sts.New(opts), cfg: cfg, cache: map[vendKey]*vendEntry{}}, nil
}

// refreshMargin is how close to expiry a cached credential is replaced: a
// quarter of its life, at least 5 minutes, so that a client always gets
// most of a credential's life and has time to come back for another.
func (v *Vendor) refreshMargin() time.Duration {
	return max(v.cfg.Duration/4, 5*time.Minute)
}

// Vend returns credentials for loc with access, for the principal named
// who. It fails with EFORBIDDEN if the principal has no role, and
// EUNAVAILABLE if STS does not answer.
func (v *Vendor) Vend(ctx context.Context, loc Location, access Access, who string) (Credential, error) {
	role := v.cfg.RoleARNs[who]
	if role == "" {
		role = v.cfg.RoleARN
	}
	if role == "" {
		return Credential{}, ice.Errorf(ice.EFORBIDDEN, "%s has no role to assume for vended credentials", who)
	}
	key := vendKey{role: role, location: loc.String(), access: access}
	for {
		v.mu.Lock()
		e, ok := v.cache[key]
		if ok {
			select {
			case <-e.done:
				if e.err == nil && v.cfg.Now().Add(v.refreshMargin()).Before(e.cred.Expires) {
					v.mu.Unlock()
					return e.cred, nil
				}
				delete(v.cache, key) // stale or failed: fetch anew below
				ok = false
			default:
			}
		}
		if ok {
			v.mu.Unlock()
			// Another request is calling STS for the same key: wait
			// for its answer instead of making a second call.
			select {
			case <-e.done:
				if e.err != nil {
					return Credential{}, e.err
				}
				continue
			case <-ctx.Done():
				return Credential{}, ctx.Err()
			}
		}
		e = &vendEntry{done: make(chan struct{})}
		v.evictLocked()
		v.cache[key] = e
		v.mu.Unlock()

		// The call runs detached from this request so that its result
		// serves the waiters even if this client goes away.
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		e.cred, e.err = v.assume(callCtx, role, loc, access, who)
		cancel()
		close(e.done)
		if e.err != nil {
			v.mu.Lock()
			if v.cache[key] == e {
				delete(v.cache, key) // never cache a failure
			}
			v.mu.Unlock()
		}
		return e.cred, e.err
	}
}

// evictLocked makes room for one entry: expired entries go first; if none
// has expired, an arbitrary finished one goes.
func (v *Vendor) evictLocked() {
	if len(v.cache) < v.cfg.MaxCached {
		return
	}
	now := v.cfg.Now()
	for k, e := range v.cache {
		select {
		case <-e.done:
			if e.err != nil || !now.Before(e.cred.Expires) {
				delete(v.cache, k)
			}
		default:
		}
	}
	for k, e := range v.cache {
		if len(v.cache) < v.cfg.MaxCached {
			return
		}
		select {
		case <-e.done:
			delete(v.cache, k)
		default:
		}
	}
}

// Cached returns how many credentials the cache holds, for tests and
// metrics.
func (v *Vendor) Cached() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.cache)
}

var sessionNameUnsafe = regexp.MustCompile(`[^\w+=,.@-]`)

func (v *Vendor) assume(ctx context.Context, role string, loc Location, access Access, who string) (Credential, error) {
	policy, err := SessionPolicy(loc, access)
	if err != nil {
		return Credential{}, ice.Errorf(ice.EUNPROCESSABLE, "%w", err)
	}
	// The session name shows in CloudTrail and MinIO's audit log: it says
	// which principal the catalog vended for.
	name := sessionNameUnsafe.ReplaceAllString("ice-"+who, "_")
	if len(name) > 64 {
		name = name[:64]
	}
	out, err := v.client.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String(role),
		RoleSessionName: aws.String(name),
		DurationSeconds: aws.Int32(int32(v.cfg.Duration / time.Second)),
		Policy:          aws.String(policy),
	})
	if err != nil {
		return Credential{}, &ice.Error{Code: ice.EUNAVAILABLE, Message: "cannot vend credentials: STS AssumeRole failed; see the catalog's log", Err: fmt.Errorf("assume role %s for %s on %s: %w", role, who, loc, err)}
	}
	c := out.Credentials
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil {
		return Credential{}, &ice.Error{Code: ice.EUNAVAILABLE, Message: "cannot vend credentials: STS answered without credentials"}
	}
	cred := Credential{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: aws.ToString(c.SessionToken)}
	if c.Expiration != nil {
		cred.Expires = *c.Expiration
	} else {
		cred.Expires = v.cfg.Now().Add(v.cfg.Duration)
	}
	return cred, nil
}
