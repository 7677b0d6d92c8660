package validate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	dashboardFile = filepath.Join(repo, "deploy/grafana/ice-rest-catalog.json")
	metricsFile   = filepath.Join(repo, "metrics/metrics.go")
)

// collectorMetrics are the series of client_golang's Go and process
// collectors that the dashboard uses; metrics.go registers the collectors,
// not the names.
var collectorMetrics = map[string]string{
	"go_goroutines":                 "collectors.NewGoCollector",
	"go_memstats_heap_inuse_bytes":  "collectors.NewGoCollector",
	"process_resident_memory_bytes": "collectors.NewProcessCollector",
	"process_cpu_seconds_total":     "collectors.NewProcessCollector",
	"process_open_fds":              "collectors.NewProcessCollector",
	"process_start_time_seconds":    "collectors.NewProcessCollector",
}

// collectExprs finds every PromQL expression of the dashboard: panel
// targets ("expr") and template variable queries ("definition").
func collectExprs(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (k == "expr" || k == "definition") {
				*out = append(*out, s)
			}
			collectExprs(x, out)
		}
	case []any:
		for _, x := range v {
			collectExprs(x, out)
		}
	}
}

var (
	promStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(by|without|on|ignoring)\s*\(([^)]*)\)`)
	promIdent     = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promLabelName = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)`)
	labelValues   = regexp.MustCompile(`^label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\)$`)
	promKeywords  = []string{"and", "or", "unless", "offset", "bool", "group_left", "group_right"}
)

// metricNames returns the metric names an expression selects, and the
// label names it matches or groups on.
func metricNames(expr string) (metrics, labels []string) {
	// Grafana's label_values(selector, label) names a label last.
	if m := labelValues.FindStringSubmatch(expr); m != nil {
		metrics, labels = metricNames(m[1])
		return metrics, append(labels, m[2])
	}
	for _, m := range promMatchers.FindAllString(promStrings.ReplaceAllString(expr, `""`), -1) {
		for _, l := range promLabelName.FindAllStringSubmatch(m, -1) {
			labels = append(labels, l[1])
		}
	}
	e := promStrings.ReplaceAllString(expr, " ")
	e = promMatchers.ReplaceAllString(e, " ")
	e = promRanges.ReplaceAllString(e, " ")
	for _, g := range promGrouping.FindAllStringSubmatch(e, -1) {
		labels = append(labels, promIdent.FindAllString(g[2], -1)...)
	}
	e = promGrouping.ReplaceAllString(e, " ")
	for _, loc := range promIdent.FindAllStringIndex(e, -1) {
		id := e[loc[0]:loc[1]]
		rest := strings.TrimLeft(e[loc[1]:], " ")
		if strings.HasPrefix(rest, "(") || slices.Contains(promKeywords, id) {
			continue // a function call or an operator
		}
		if loc[0] > 0 && (e[loc[0]-1] == '$' || (e[loc[0]-1] >= '0' && e[loc[0]-1] <= '9')) {
			continue // a Grafana variable, or the unit of a number
		}
		metrics = append(metrics, id)
	}
	return metrics, labels
}

func TestGrafanaDashboardUsesExportedMetrics(t *testing.T) {
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	src, err := os.ReadFile(metricsFile)
	if err != nil {
		t.Fatal(err)
	}
	code := string(src)
	// Names and label names as metrics.go declares them.
	exported := map[string]bool{}
	for _, m := range regexp.MustCompile(`Name:\s*"([a-z_:][a-z0-9_:]*)"`).FindAllStringSubmatch(code, -1) {
		exported[m[1]] = true
	}
	histograms := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?s)NewHistogram(?:Vec)?\(prometheus\.HistogramOpts\{\s*Name:\s*"([a-z_:][a-z0-9_:]*)"`).FindAllStringSubmatch(code, -1) {
		histograms[m[1]] = true
	}
	knownLabels := map[string]bool{"le": true, "job": true, "instance": true}
	for _, m := range regexp.MustCompile(`\[\]string\{([^}]*)\}`).FindAllStringSubmatch(code, -1) {
		for _, l := range regexp.MustCompile(`"([a-z_]+)"`).FindAllStringSubmatch(m[1], -1) {
			knownLabels[l[1]] = true
		}
	}
	if len(exported) == 0 || len(histograms) == 0 {
		t.Fatalf("could not read the metric names from %s", metricsFile)
	}

	var exprs []string
	collectExprs(dash, &exprs)
	if len(exprs) < 5 {
		t.Fatalf("only %d PromQL expressions in the dashboard", len(exprs))
	}
	used := map[string]bool{}
	for _, expr := range exprs {
		metrics, labels := metricNames(expr)
		if len(metrics) == 0 {
			t.Errorf("no metric name found in %q", expr)
		}
		for _, name := range metrics {
			used[name] = true
			if !exists(name, exported, histograms, code) {
				t.Errorf("%q uses %s, which metrics/metrics.go does not export", expr, name)
			}
		}
		for _, l := range labels {
			if !knownLabels[l] {
				t.Errorf("%q uses the label %s, which no metric of metrics/metrics.go has", expr, l)
			}
		}
	}
	// The dashboard shows every metric of the catalog's own.
	for name := range exported {
		if !used[name] && !(histograms[name] && used[name+"_bucket"]) {
			t.Errorf("the dashboard has no panel for %s", name)
		}
	}
}

func exists(name string, exported, histograms map[string]bool, code string) bool {
	if exported[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && histograms[base] {
			return true
		}
	}
	if c, ok := collectorMetrics[name]; ok {
		return strings.Contains(code, c+"(")
	}
	return false
}

// TestMetricNamesParser keeps the parser above honest.
func TestMetricNamesParser(t *testing.T) {
	m, l := metricNames(`histogram_quantile(0.99, sum by (le, route) (rate(ice_x_bucket{job=~"$job", code=~"5.."}[$__rate_interval]))) / on (job) count(up)`)
	if !slices.Equal(m, []string{"ice_x_bucket", "up"}) {
		t.Errorf("metrics %v", m)
	}
	slices.Sort(l)
	if !slices.Equal(l, []string{"code", "job", "job", "le", "route"}) {
		t.Errorf("labels %v", l)
	}
}
