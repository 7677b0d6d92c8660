package validate

import (
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader"
	"helm.sh/helm/v4/pkg/engine"
)

// RenderChart is `helm template` without a cluster: it loads the chart in
// dir, merges overrides into its values and renders every template. It
// returns the manifests by template name, empty ones left out.
func RenderChart(dir, release, namespace string, overrides map[string]any) (map[string]string, error) {
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	vals, err := util.ToRenderValues(ch, overrides,
		common.ReleaseOptions{Name: release, Namespace: namespace, IsInstall: true, Revision: 1},
		common.DefaultCapabilities)
	if err != nil {
		return nil, fmt.Errorf("values of %s: %w", dir, err)
	}
	out, err := engine.Render(ch, vals)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", dir, err)
	}
	manifests := map[string]string{}
	for name, text := range out {
		if strings.HasSuffix(name, ".tpl") || strings.TrimSpace(stripComments(text)) == "" {
			continue
		}
		manifests[name] = text
	}
	return manifests, nil
}

// DecodeAll decodes rendered manifests in a stable order.
func DecodeAll(manifests map[string]string) (*Objects, error) {
	names := make([]string, 0, len(manifests))
	for n := range manifests {
		names = append(names, n)
	}
	sort.Strings(names)
	o := &Objects{}
	for _, n := range names {
		if err := o.Decode(n, []byte(manifests[n])); err != nil {
			return nil, err
		}
	}
	return o, nil
}
