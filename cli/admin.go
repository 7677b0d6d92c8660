package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// errAdminUnavailable is returned when the catalog has no admin endpoints
// (HTTP 404), e.g. a server without the operations feature.
var errAdminUnavailable = errors.New("the catalog does not serve the admin endpoints (HTTP 404)")

// adminCall sends a request to /admin/v1/<op> on the catalog and returns
// the answer's body, or an error carrying the server's message.
func (r *run) adminCall(ctx context.Context, method, op string, query url.Values, body []byte) ([]byte, error) {
	return r.serverCall(ctx, method, "/admin/v1/"+op, op, query, body)
}

// serverCall sends a request to one of the server's own (non-Iceberg)
// endpoints at path; op names it in errors.
func (r *run) serverCall(ctx context.Context, method, path, op string, query url.Values, body []byte) ([]byte, error) {
	u := strings.TrimSuffix(r.cfg.URI, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	r.authorize(req)
	client, err := r.httpClient()
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: read answer: %w", op, err)
	}
	if resp.StatusCode/100 != 2 {
		var em struct {
			Error struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"error"`
		}
		_ = json.Unmarshal(out, &em)
		// A 404 that is not about a missing namespace or table means the
		// route itself is unknown: a server without the admin endpoints.
		if resp.StatusCode == http.StatusNotFound && !strings.HasPrefix(em.Error.Type, "NoSuch") {
			return nil, fmt.Errorf("%s: %w", op, errAdminUnavailable)
		}
		if em.Error.Message != "" {
			return nil, fmt.Errorf("%s: HTTP %d %s: %s", op, resp.StatusCode, em.Error.Type, em.Error.Message)
		}
		return nil, fmt.Errorf("%s: HTTP %d: %s", op, resp.StatusCode, strings.TrimSpace(string(out)))
	}
	return out, nil
}

func cmdCatalogExport(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("catalog-export", flag.ContinueOnError)
	ns := fs.String("namespace", "", "export only this namespace (and its children)")
	out := fs.String("o", "-", "write the snapshot to `file` (- for stdout)")
	fs.StringVar(out, "output", "-", "same as -o")
	if _, err := r.parse(fs, args, 0, 0); err != nil {
		return err
	}
	q := url.Values{}
	if *ns != "" {
		q.Set("namespace", *ns)
	}
	body, err := r.adminCall(ctx, http.MethodGet, "catalog-export", q, nil)
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		return fmt.Errorf("catalog-export: answer is not JSON: %w", err)
	}
	pretty.WriteByte('\n')
	if *out == "-" {
		_, err = r.stdout.Write(pretty.Bytes())
		return err
	}
	if err := os.WriteFile(*out, pretty.Bytes(), 0o600); err != nil {
		return fmt.Errorf("catalog-export: %w", err)
	}
	r.log.Info("wrote catalog snapshot", "file", *out)
	return nil
}

func cmdCatalogImport(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("catalog-import", flag.ContinueOnError)
	dryRun := fs.Bool("dry-run", false, "report what would change without changing anything")
	overwrite := fs.Bool("overwrite", false, "replace entries that already exist")
	pos, err := r.parse(fs, args, 0, 1)
	if err != nil {
		return err
	}
	var body []byte
	if len(pos) == 0 || pos[0] == "-" {
		body, err = io.ReadAll(r.env.Stdin)
	} else {
		body, err = os.ReadFile(pos[0])
	}
	if err != nil {
		return fmt.Errorf("catalog-import: read snapshot: %w", err)
	}
	if !json.Valid(body) {
		return errors.New("catalog-import: the snapshot is not JSON")
	}
	q := url.Values{}
	q.Set("dry-run", fmt.Sprint(*dryRun))
	q.Set("overwrite", fmt.Sprint(*overwrite))
	res, err := r.adminCall(ctx, http.MethodPost, "catalog-import", q, body)
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, res, "", "  ") != nil {
		pretty.Write(res)
	}
	pretty.WriteByte('\n')
	_, err = r.stdout.Write(pretty.Bytes())
	return err
}
