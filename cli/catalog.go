package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/rest"
	icebergio "github.com/apache/iceberg-go/io"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3:// table locations
	"github.com/apache/iceberg-go/table"
)

// tlsConfig is the TLS setup for every request to the catalog: the caCrt
// bundle if given (PEM, or "base64:" + base64 of PEM), and no verification
// with --insecure or sslVerify: false.
func (r *run) tlsConfig() (*tls.Config, error) {
	verify := !r.g.insecure
	if r.cfg.SSLVerify != nil && !*r.cfg.SSLVerify {
		verify = false
	}
	if !verify {
		r.log.Warn("TLS certificate verification is disabled; use this only for development")
	}
	tc := &tls.Config{InsecureSkipVerify: !verify} //nolint:gosec // asked for by --insecure / sslVerify: false
	if src := strings.TrimSpace(r.cfg.CACrt); src != "" {
		pem := []byte(src)
		if rest, ok := strings.CutPrefix(src, "base64:"); ok {
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
			if err != nil {
				return nil, fmt.Errorf("caCrt: decode base64: %w", err)
			}
			pem = b
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("caCrt: no PEM certificate found")
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// icebergProps are the catalog properties iceberg-go's FileIO reads: the
// s3 section of the config, then icebergProperties verbatim.
func (r *run) icebergProps() iceberg.Properties {
	p := iceberg.Properties{}
	set := func(k, v string) {
		if v != "" {
			p[k] = v
		}
	}
	s3 := r.cfg.S3
	set(icebergio.S3EndpointURL, s3.Endpoint)
	set(icebergio.S3AccessKeyID, s3.AccessKeyID)
	set(icebergio.S3SecretAccessKey, s3.SecretAccessKey)
	set(icebergio.S3Region, s3.Region)
	if s3.Endpoint != "" && !s3.PathStyleAccess {
		// iceberg-go defaults to path style with a custom endpoint; the
		// Java tool defaults to virtual-host style unless asked.
		p[icebergio.S3ForceVirtualAddressing] = "true"
	}
	for k, v := range r.cfg.IcebergProperties {
		p[k] = v
	}
	return p
}

// catalog connects iceberg-go's REST client to the configured catalog. It
// asks for vended credentials, so table files are reachable with the
// catalog's keys when the config has none.
func (r *run) catalog(ctx context.Context) (*rest.Catalog, error) {
	tc, err := r.tlsConfig()
	if err != nil {
		return nil, err
	}
	opts := []rest.Option{
		rest.WithTLSConfig(tc),
		rest.WithAdditionalProps(r.icebergProps()),
		rest.WithHeaders(map[string]string{"X-Iceberg-Access-Delegation": "vended-credentials"}),
	}
	if tok := strings.TrimSpace(r.cfg.BearerToken); tok != "" {
		opts = append(opts, rest.WithOAuthToken(strings.TrimPrefix(strings.TrimPrefix(tok, "Bearer "), "bearer ")))
	}
	cat, err := rest.NewCatalog(ctx, "ice", r.cfg.URI, opts...)
	if err != nil {
		if why := r.notACatalog(ctx, tc); why != "" {
			return nil, fmt.Errorf("%s is not an Iceberg REST catalog: %s; point uri (in .ice.yaml, ICE_URI or -c) at the catalog's API port "+
				"(5000 by default; 5001 is ice-rest-catalog's debug port, with health and metrics only)", r.cfg.URI, why)
		}
		return nil, fmt.Errorf("connect to the catalog at %s (set uri in .ice.yaml, ICE_URI or -c): %w", r.cfg.URI, err)
	}
	return cat, nil
}

// notACatalog looks at what uri answers on GET /v1/config, after the REST
// client failed there: it says why the answer is not a catalog's (no JSON
// object with defaults and overrides), or "" when it might be one (and the
// client's own error is the better message: a refused connection, a 401).
func (r *run) notACatalog(ctx context.Context, tc *tls.Config) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(r.cfg.URI, "/")+"/v1/config", nil)
	if err != nil {
		return ""
	}
	r.authorize(req)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var cfg struct {
		Defaults  map[string]any `json:"defaults"`
		Overrides map[string]any `json:"overrides"`
		Error     *struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &cfg) == nil && (cfg.Defaults != nil || cfg.Overrides != nil || cfg.Error != nil) {
		return ""
	}
	snippet := strings.TrimSpace(string(body))
	if len(snippet) > 60 {
		snippet = snippet[:60] + "..."
	}
	return fmt.Sprintf("GET /v1/config answered HTTP %d with %q", resp.StatusCode, snippet)
}

// httpClient is a client with the catalog's TLS settings and bearer token,
// for the admin endpoints that iceberg-go does not know.
func (r *run) httpClient() (*http.Client, error) {
	tc, err := r.tlsConfig()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	return &http.Client{Transport: tr}, nil
}

func (r *run) authorize(req *http.Request) {
	if tok := strings.TrimSpace(r.cfg.BearerToken); tok != "" {
		if !strings.HasPrefix(strings.ToLower(tok), "bearer ") {
			tok = "Bearer " + tok
		}
		req.Header.Set("Authorization", tok)
	}
}

// openTable checks the name "ns.table", then connects and loads it.
func (r *run) openTable(ctx context.Context, name string) (*table.Table, error) {
	if _, err := tableIdent(name); err != nil {
		return nil, err
	}
	cat, err := r.catalog(ctx)
	if err != nil {
		return nil, err
	}
	return r.loadTable(ctx, cat, name)
}

// openTableFiles opens the named table and lists its current data files,
// sorted by path: the first steps of the commands that work on files.
func (r *run) openTableFiles(ctx context.Context, name string) (*table.Table, []table.FileScanTask, error) {
	tbl, err := r.openTable(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	tasks, err := dataFiles(ctx, tbl)
	if err != nil {
		return nil, nil, err
	}
	return tbl, tasks, nil
}

// openNamespace splits the namespace name a command was given and connects
// to the catalog: the first steps of every namespace command.
func (r *run) openNamespace(ctx context.Context, name string) (*rest.Catalog, []string, error) {
	ns, err := splitName(name)
	if err != nil {
		return nil, nil, err
	}
	cat, err := r.catalog(ctx)
	if err != nil {
		return nil, nil, err
	}
	return cat, ns, nil
}

// loadTable loads "ns.table".
func (r *run) loadTable(ctx context.Context, cat *rest.Catalog, name string) (*table.Table, error) {
	ident, err := tableIdent(name)
	if err != nil {
		return nil, err
	}
	tbl, err := cat.LoadTable(ctx, ident)
	if err != nil {
		return nil, fmt.Errorf("load table %s: %w", name, err)
	}
	return tbl, nil
}
