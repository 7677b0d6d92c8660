package rest

import (
	"maps"
	"net/http"
	"net/url"
	"strings"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/auth"
	"github.com/ice-rest-catalog/ice/credentials"
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

// accessOf is what the request's principal may do with the files of a
// table in ns: write access to the namespace under the authorization rules
// (which cap read-only principals at read) is needed to write them.
func (h *Handler) accessOf(r *http.Request, ns ice.Namespace) (credentials.Access, string) {
	p, _ := auth.FromContext(r.Context())
	if h.accessLevel(r, ns) < auth.Write {
		return credentials.ReadOnly, p.Name
	}
	return credentials.ReadWrite, p.Name
}

// vendsDynamically reports whether a vended-credentials answer holds
// temporary keys, which change while the table does not: such answers
// cannot be validated from the table pointer alone.
func (h *Handler) vendsDynamically(r *http.Request) bool {
	return h.vendor != nil && wantsVendedCredentials(r)
}

// delegate works out the credentials or signing settings for a table at
// location. Vended credentials win over remote signing when a client asks
// for both and both are configured: the spec lets the server pick.
func (h *Handler) delegate(r *http.Request, id ice.TableIdent, location string) (delegation, error) {
	var d delegation
	if wantsVendedCredentials(r) {
		creds, tag, err := h.vend(r, id.Namespace, location)
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
	if h.signer != nil && accessDelegation(r, delegateSigning) {
		d.tag = signingETagPart
		if _, ok, _ := credentials.ParseLocation(location); ok {
			d.config = h.signingConfig(id)
		}
	}
	return d, nil
}

const signingETagPart = "\x00" + delegateSigning

// signingTag is the ETag part that delegate adds when it does not vend
// temporary keys, computed without reading the table.
func (h *Handler) signingTag(r *http.Request) string {
	if h.signer == nil || !accessDelegation(r, delegateSigning) {
		return ""
	}
	if wantsVendedCredentials(r) && len(h.vendCfg) > 0 && h.vendor == nil {
		return "" // static keys are vended instead
	}
	return signingETagPart
}

// vend returns the storage credentials for location: STS credentials
// scoped to it when STS is configured, else the static keys when the
// config explicitly allows handing them out, else none.
func (h *Handler) vend(r *http.Request, ns ice.Namespace, location string) ([]storageCredential, string, error) {
	// Credentials are scoped to the table's location: it must be one the
	// location rule confirms, or the scope could be a bucket or another
	// table's files.
	if _, err := h.svc.CheckStoredLocation(location); err != nil {
		return nil, "", err
	}
	if h.vendor == nil {
		if len(h.vendCfg) == 0 {
			return nil, "", nil
		}
		return []storageCredential{{Prefix: location, Config: maps.Clone(h.vendCfg)}}, "", nil
	}
	loc, ok, err := credentials.ParseLocation(location)
	if err != nil || !ok {
		// A file:// table has no S3 keys to vend; the spec lets the server
		// supply none of the mechanisms asked for.
		return nil, "", nil
	}
	access, who := h.accessOf(r, ns)
	cred, err := h.vendor.Vend(r.Context(), loc, access, who)
	switch ice.ErrorCode(err) {
	case ice.EFORBIDDEN: // the principal has no role
		h.log.DebugContext(r.Context(), "no vended credentials", "principal", who, "reason", err)
		return nil, "", nil
	case ice.EUNPROCESSABLE: // the location cannot be scoped exactly
		h.log.WarnContext(r.Context(), "no vended credentials", "location", location, "reason", err)
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	return []storageCredential{{Prefix: location, Config: cred.Config()}}, "\x00" + cred.AccessKeyID, nil
}

// signingConfig tells clients to sign S3 requests through this table's
// sign endpoint. signer.uri is sent only when configured: clients default
// it to the catalog URI they were given, which is right unless a proxy
// rewrites paths.
func (h *Handler) signingConfig(id ice.TableIdent) map[string]string {
	ep := "v1/namespaces/" + url.PathEscape(strings.Join(id.Namespace, "\x1f")) + "/tables/" + url.PathEscape(id.Name) + "/sign"
	cfg := map[string]string{
		"s3.remote-signing-enabled": "true",
		"s3.signer.endpoint":        ep,
		"signer.endpoint":           ep,
	}
	if h.signerURI != "" {
		cfg["s3.signer.uri"] = h.signerURI
		cfg["signer.uri"] = h.signerURI
	}
	return cfg
}

// loadCredentials answers the keys loadTable vends, scoped to the table's
// location. The endpoint exists only to vend, so it needs no
// X-Iceberg-Access-Delegation header. With nothing to vend the list is empty,
// not null: the field is required to be an array.
func (h *Handler) loadCredentials(w http.ResponseWriter, r *http.Request) {
	id, err := tableParam(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	t, err := h.svc.LoadTableRaw(r.Context(), id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	creds, _, err := h.vend(r, t.ID.Namespace, t.Metadata.TableLocation)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if creds == nil {
		creds = []storageCredential{}
	}
	writeJSON(w, http.StatusOK, loadCredentialsResult{StorageCredentials: creds})
}
