package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// deletedPath is the management path of a namespace's deleted area; the
// namespace is given as "a.b" and sent with the spec's 0x1F separator.
func deletedPath(ns string) string {
	return "/management/v1/namespaces/" + url.PathEscape(strings.ReplaceAll(ns, ".", "\x1f")) + "/deleted"
}

func cmdListDeleted(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("list-deleted", flag.ContinueOnError)
	pos, err := r.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	body, err := r.serverCall(ctx, http.MethodGet, deletedPath(pos[0]), "list-deleted", nil, nil)
	if err != nil {
		return err
	}
	var ans struct {
		Deleted []struct {
			ID               string `json:"id"`
			Kind             string `json:"kind"`
			Name             string `json:"name"`
			MetadataLocation string `json:"metadata-location"`
			DroppedAt        string `json:"dropped-at"`
			Principal        string `json:"principal"`
			RetainUntil      string `json:"retain-until"`
		} `json:"deleted"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return fmt.Errorf("list-deleted: answer is not JSON: %w", err)
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "%-16s  %-5s  %-24s  %-24s  %-24s  %s\n", "ID", "KIND", "NAME", "DROPPED", "RETAIN UNTIL", "BY")
	for _, d := range ans.Deleted {
		fmt.Fprintf(&out, "%-16s  %-5s  %-24s  %-24s  %-24s  %s\n", d.ID, d.Kind, d.Name, d.DroppedAt, d.RetainUntil, d.Principal)
	}
	_, err = r.stdout.Write(out.Bytes())
	return err
}

func cmdUndrop(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("undrop", flag.ContinueOnError)
	name := fs.String("name", "", "restore under this `name` (in the same namespace) instead of the old one")
	pos, err := r.parse(fs, args, 2, 2)
	if err != nil {
		return err
	}
	var req []byte
	if *name != "" {
		req, _ = json.Marshal(map[string]string{"name": *name})
	}
	body, err := r.serverCall(ctx, http.MethodPost, deletedPath(pos[0])+"/"+url.PathEscape(pos[1])+"/undrop", "undrop", nil, req)
	if err != nil {
		return err
	}
	var ans struct {
		Kind       string `json:"kind"`
		Identifier struct {
			Namespace []string `json:"namespace"`
			Name      string   `json:"name"`
		} `json:"identifier"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return fmt.Errorf("undrop: answer is not JSON: %w", err)
	}
	_, err = fmt.Fprintf(r.stdout, "restored %s %s.%s\n", ans.Kind, strings.Join(ans.Identifier.Namespace, "."), ans.Identifier.Name)
	return err
}
