package bench

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Markers around the generated part of the "## Catalog server" section; the
// prose around them is kept.
const (
	beginMark = "<!-- ice-bench:begin -->"
	endMark   = "<!-- ice-bench:end -->"
)

// writeMarkdown replaces the text between the markers in path, or appends a
// "## Catalog server" section holding them.
func writeMarkdown(path string, rep *Report) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	doc := string(old)
	gen := beginMark + "\n" + Markdown(rep) + endMark
	i, j := strings.Index(doc, beginMark), strings.Index(doc, endMark)
	if i >= 0 && j > i {
		doc = doc[:i] + gen + doc[j+len(endMark):]
	} else {
		doc = strings.TrimRight(doc, "\n") + "\n\n## Catalog server\n\n" + gen + "\n"
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}

// Markdown renders the report's tables.
func Markdown(rep *Report) string {
	var b strings.Builder
	o := rep.Options
	fmt.Fprintf(&b, "Run of %s: %s; %v per point; load average %s (2 cores).\n\n",
		rep.Started.Format(time.RFC3339), rep.EtcdTarget, o.Duration, rep.Load)
	fmt.Fprintf(&b, "Server ready %v after its process started", rep.Ready.Round(time.Millisecond))
	if rep.Restart > 0 {
		fmt.Fprintf(&b, " (%v after a restart on a populated etcd)", rep.Restart.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, ". Metadata files: %d bytes with 100 snapshots, %d with 10,000.\n\n", rep.MetaSize[0], rep.MetaSize[1])
	base := map[string]Point{}
	for _, p := range rep.Points {
		base[fmt.Sprintf("%s@%d", p.Workload, p.Concurrency)] = p
	}
	b.WriteString("| Workload | Concurrency | ops/s | p50 | p99 | Errors | Ratio to baseline |\n|---|--:|--:|--:|--:|--:|---|\n")
	for _, p := range rep.Points {
		ratio := ""
		if bl, ok := baselineOf[p.Workload]; ok {
			switch q, ok := base[fmt.Sprintf("%s@%d", bl, p.Concurrency)]; {
			case p.Paired != nil && p.Paired.Throughput > 0:
				ratio = fmt.Sprintf("%.0f%% of %s, interleaved (%.0f/s, p99 %s)", 100*p.Throughput/p.Paired.Throughput,
					strings.TrimSuffix(bl, " (baseline)"), p.Paired.Throughput, ms(p.Paired.P99))
			case ok && q.Throughput > 0:
				ratio = fmt.Sprintf("%.0f%% of %s", 100*p.Throughput/q.Throughput, strings.TrimSuffix(bl, " (baseline)"))
			}
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s | %d | %s |\n", p.Workload, p.Concurrency, p.Throughput,
			ms(p.P50), ms(p.P99), p.Errors, ratio)
	}
	if v, ok := rep.PeakRSS[wLoadMany]; ok && rep.Restart > 0 {
		fmt.Fprintf(&b, "\nServer peak RSS under loadTable over %d tables, each with its own metadata file, in a freshly started process: %s.\n",
			rep.Options.RSSTables, mib(v))
	}
	b.WriteString("\nServer peak RSS (VmHWM) since its start, after each workload:")
	for _, name := range append(order, wLoadMany) {
		if v, ok := rep.PeakRSS[name]; ok {
			fmt.Fprintf(&b, " %s %s;", name, mib(v))
		}
	}
	b.WriteString("\n")
	if rep.DB.Commits > 0 {
		fmt.Fprintf(&b, "\netcd database growth per table commit, before compaction: %.0f bytes, %.2f revisions (%d table appends in a run of commits over 64 tables at 8 concurrent, measured alone; %s in all).\n",
			rep.DB.PerCommit, rep.DB.RevsPerCommit, rep.DB.Commits, mib(rep.DB.Bytes))
	}
	if sf := rep.Scale; sf != nil {
		fmt.Fprintf(&b, "\nScale: %d tables written straight into etcd in %v; etcd database %s → %s (in use %s → %s), %.0f bytes per table.\n\n",
			sf.Tables, sf.WriteTime.Round(time.Millisecond), mib(sf.DBBefore.size), mib(sf.DBAfter.size),
			mib(sf.DBBefore.inUse), mib(sf.DBAfter.inUse), float64(sf.DBAfter.size-sf.DBBefore.size)/float64(sf.Tables))
		b.WriteString("| Workload | Concurrency | ops/s | p50 | p99 | Errors |\n|---|--:|--:|--:|--:|--:|\n")
		for _, p := range append(append([]Point{}, sf.Load...), sf.ListPage...) {
			fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s | %d |\n", p.Workload, p.Concurrency, p.Throughput, ms(p.P50), ms(p.P99), p.Errors)
		}
		fmt.Fprintf(&b, "\nListing all %d tables, 1,000 a page: %d pages in %v; server RSS %s before, at most %s during.\n",
			sf.Tables, sf.Pages, sf.FullWalk.Round(time.Millisecond), mib(sf.RSSBeforeWalk), mib(sf.RSSWalk))
	}
	if o.Chart != "" {
		fmt.Fprintf(&b, "\n![throughput against concurrency](%s)\n", chartLink(o.Markdown, o.Chart))
		b.WriteString("\nChart: throughput (log scale) against concurrency; colours: " + legend(rep) + ".\n")
	}
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// chartLink is the chart's path relative to the markdown file's directory
// when both share it.
func chartLink(md, chart string) string {
	if i := strings.LastIndex(md, "/"); i >= 0 && strings.HasPrefix(chart, md[:i+1]) {
		return chart[i+1:]
	}
	return chart
}
