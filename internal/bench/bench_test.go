package bench

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMeasureCountsSuccessesAndErrors(t *testing.T) {
	p := measure(context.Background(), "w", 4, 50*time.Millisecond, func(_ context.Context, w, seq int) error {
		if w == 0 {
			return errors.New("worker 0 fails")
		}
		time.Sleep(time.Millisecond)
		return nil
	})
	if p.Ops == 0 || p.Errors == 0 || p.Throughput <= 0 {
		t.Fatalf("ops %d errors %d throughput %v", p.Ops, p.Errors, p.Throughput)
	}
	if p.P50 <= 0 || p.P99 < p.P50 || !strings.Contains(p.FirstErr, "worker 0") {
		t.Errorf("p50 %v p99 %v first error %q", p.P50, p.P99, p.FirstErr)
	}
}

func sampleReport() *Report {
	rep := &Report{Options: Options{Duration: time.Second, Markdown: "docs/benchmarks.md", Chart: "docs/benchmarks.png"},
		PeakRSS: map[string]int64{}}
	for _, c := range []int{1, 8, 32, 128} {
		rep.Points = append(rep.Points,
			Point{Workload: wEtcdGet, Concurrency: c, Ops: 10, Throughput: float64(10000 * c), P50: time.Millisecond, P99: 2 * time.Millisecond},
			Point{Workload: wLoad100, Concurrency: c, Ops: 10, Throughput: float64(5000 * c), P50: time.Millisecond, P99: 3 * time.Millisecond})
	}
	return rep
}

func TestMarkdownRatios(t *testing.T) {
	md := Markdown(sampleReport())
	if !strings.Contains(md, "| loadTable 100 snapshots | 32 | 160000 | 1.00 ms | 3.00 ms | 0 | 50% of etcd Get |") {
		t.Errorf("no ratio row in\n%s", md)
	}
}

func TestWriteMarkdownKeepsOtherSections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.md")
	doc := "## ice insert\n\nkept\n\n## Catalog server\n\nprose before\n\n" + beginMark + "\nold\n" + endMark + "\n\nprose after\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeMarkdown(path, sampleReport()); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	for _, want := range []string{"## ice insert\n\nkept", "prose before", "prose after", "50% of etcd Get"} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if bytes.Contains(got, []byte("\nold\n")) || bytes.Count(got, []byte(beginMark)) != 1 {
		t.Errorf("the generated part was not replaced exactly once:\n%s", got)
	}
	// Without markers a section is appended.
	if err := os.WriteFile(path, []byte("## ice insert\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeMarkdown(path, sampleReport()); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(path)
	if !bytes.HasPrefix(got, []byte("## ice insert\n\n## Catalog server\n")) {
		t.Errorf("no section appended:\n%.200s", got)
	}
}

func TestChartIsASmallPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.png")
	if err := writeChart(path, sampleReport()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if img.Bounds().Dx() != 640 || len(b) > 100<<10 {
		t.Errorf("size %v, %d bytes", img.Bounds(), len(b))
	}
}

func TestBuildMetadataHasTheSnapshots(t *testing.T) {
	raw, err := buildMetadata("s3://b/wh/t", 50)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(raw, []byte(`"manifest-list"`)); n != 50 {
		t.Errorf("%d snapshots, want 50", n)
	}
}
