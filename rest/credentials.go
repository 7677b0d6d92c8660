package rest

import (
	"log/slog"
	"maps"
	"net/http"
	"strings"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/auth"
	"github.com/ice-rest-catalog/ice/credentials"
	"github.com/ice-rest-catalog/ice/service"
)

// storageCredential is the spec's StorageCredential.
type storageCredential struct {
	Prefix string            `json:"prefix"`
	Config map[string]string `json:"config"`
}

// loadCredentialsResult is the spec's LoadCredentialsResponse.
type loadCredentialsResult struct {
	StorageCredentials []storageCredential `json:"storage-credentials"`
}

// Values of X-Iceberg-Access-Delegation.
const (
	delegateVended  = "vended-credentials"
	delegateSigning = "remote-signing"
)

// accessDelegation reports which of the comma-separated mechanisms the
// request's X-Iceberg-Access-Delegation header asks for.
func accessDelegation(r *http.Request, mechanism string) bool {
	for _, v := range strings.Split(r.Header.Get("X-Iceberg-Access-Delegation"), ",") {
		if strings.TrimSpace(v) == mechanism {
			return true
		}
	}
	return false
}

func wantsVendedCredentials(r *http.Request) bool { return accessDelegation(r, delegateVended) }

// delegation is what a table answer carries for the access delegation the
// client asked for.
type delegation struct {
	creds  []storageCredential
	config map[string]string // merged into the table config
	// tag is folded into the ETag: the body depends on it.
	tag string
}

// storageAccess gives clients access to a table's files, as the client
// asks for it in X-Iceberg-Access-Delegation: vended credentials (here)
// and remote signing (sign.go). The Handler composes it.
type storageAccess struct {
	svc    *service.Service
	log    *slog.Logger
	vendor *credentials.Vendor // nil: no STS credentials
	signer *credentials.Signer // nil: no remote signing
	// signerURI, if set, is advertised as s3.signer.uri.
	signerURI string
	// static holds the static keys handed out as vended credentials when
	// vendor is nil, and the config says to hand them out.
	static map[string]string
	// levelOf is what the request's principal may do on a namespace.
	levelOf func(*http.Request, ice.Namespace) auth.Level
}

// accessOf is what the request's principal may do with the files of a
// table in ns: write access to the namespace under the authorization rules
// (which cap read-only principals at read) is needed to write them.
func (s *storageAccess) accessOf(r *http.Request, ns ice.Namespace) (credentials.Access, string) {
	p, _ := auth.FromContext(r.Context())
	if s.levelOf(r, ns) < auth.Write {
		return credentials.ReadOnly, p.Name
	}
	return credentials.ReadWrite, p.Name
}

// vendsDynamically reports whether a vended-credentials answer holds
// temporary keys, which change while the table does not: such answers
// cannot be validated from the table pointer alone.
func (s *storageAccess) vendsDynamically(r *http.Request) bool {
	return s.vendor != nil && wantsVendedCredentials(r)
}

// delegate works out the credentials or signing settings for a table at
// location. Vended credentials win over remote signing when a client asks
// for both and both are configured: the spec lets the server pick.
func (s *storageAccess) delegate(r *http.Request, id ice.TableIdent, location string) (delegation, error) {
	var d delegation
	if wantsVendedCredentials(r) {
		creds, tag, err := s.vend(r, id.Namespace, location)
		if err != nil {
			return d, err
		}
		if len(creds) > 0 {
			d.creds, d.tag = creds, tag
			// Clients that predate storage-credentials read the keys
			// from config; newer ones look in storage-credentials first.
			d.config = maps.Clone(creds[0].Config)
			return d, nil
		}
	}
	if s.signer != nil && accessDelegation(r, delegateSigning) {
		d.tag = signingETagPart
		if _, ok, _ := credentials.ParseLocation(location); ok {
			d.config = s.signingConfig(id)
		}
	}
	return d, nil
}

// vend returns the storage credentials for location: STS credentials
// scoped to it when STS is configured, else the static keys when the
// config explicitly allows handing them out, else none.
func (s *storageAccess) vend(r *http.Request, ns ice.Namespace, location string) ([]storageCredential, string, error) {
	if s.vendor == nil && len(s.static) == 0 {
		return nil, "", nil // nothing to vend
	}
	// Credentials are scoped to the table's location: it must be one the
	// location rule confirms, or the scope could be a bucket or another
	// table's files.
	if _, err := s.svc.CheckStoredLocation(location); err != nil {
		return nil, "", err
	}
	if s.vendor == nil {
		return []storageCredential{{Prefix: location, Config: maps.Clone(s.static)}}, "", nil
	}
	loc, ok, err := credentials.ParseLocation(location)
	if err != nil || !ok {
		// A file:// table has no S3 keys to vend; the spec lets the server
		// supply none of the mechanisms asked for.
		return nil, "", nil
	}
	access, who := s.accessOf(r, ns)
	cred, err := s.vendor.Vend(r.Context(), loc, access, who)
	switch ice.ErrorCode(err) {
	case ice.EFORBIDDEN: // the principal has no role
		s.log.DebugContext(r.Context(), "no vended credentials", "principal", who, "reason", err)
		return nil, "", nil
	case ice.EUNPROCESSABLE: // the location cannot be scoped exactly
		s.log.WarnContext(r.Context(), "no vended credentials", "location", location, "reason", err)
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	return []storageCredential{{Prefix: location, Config: cred.Config()}}, "\x00" + cred.AccessKeyID, nil
}

// loadCredentials answers the keys loadTable vends, scoped to the table's
// location. The endpoint exists only to vend, so it needs no
// X-Iceberg-Access-Delegation header. With nothing to vend the list is empty,
// not null: the field is required to be an array.
func (h *Handler) loadCredentials(w http.ResponseWriter, r *http.Request, _ *input) error {
	id, err := tableParam(r)
	if err != nil {
		return err
	}
	t, err := h.svc.LoadTableRaw(r.Context(), id)
	if err != nil {
		return err
	}
	creds, _, err := h.storage.vend(r, t.ID.Namespace, t.Metadata.TableLocation)
	if err != nil {
		return err
	}
	if creds == nil {
		creds = []storageCredential{}
	}
	writeJSON(w, http.StatusOK, loadCredentialsResult{StorageCredentials: creds})
	return nil
}
