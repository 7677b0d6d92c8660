package bench

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strings"
)

// series colours, with the names the markdown legend uses.
var palette = []struct {
	name string
	c    color.RGBA
}{
	{"black", color.RGBA{0, 0, 0, 255}}, {"grey", color.RGBA{140, 140, 140, 255}}, {"brown", color.RGBA{140, 86, 75, 255}},
	{"blue", color.RGBA{31, 119, 180, 255}}, {"orange", color.RGBA{255, 127, 14, 255}}, {"green", color.RGBA{44, 160, 44, 255}},
	{"red", color.RGBA{214, 39, 40, 255}}, {"purple", color.RGBA{148, 103, 189, 255}}, {"pink", color.RGBA{227, 119, 194, 255}},
	{"olive", color.RGBA{188, 189, 34, 255}}, {"cyan", color.RGBA{23, 190, 207, 255}}, {"navy", color.RGBA{0, 0, 128, 255}},
}

// charted are the workloads drawn: the baselines the ratios use, dashed,
// then the catalog's.
var charted = []string{wEtcdGet, wEtcdTxn, wRawLoop, wLoad100, wLoad10k, wList1k, wCreate, wCommit1, wCommit64, wMulti}

func chartSeries(rep *Report) map[string][]Point {
	m := map[string][]Point{}
	for _, p := range rep.Points {
		m[p.Workload] = append(m[p.Workload], p)
	}
	return m
}

func legend(rep *Report) string {
	m := chartSeries(rep)
	var parts []string
	for i, w := range charted {
		if len(m[w]) > 0 {
			style := ""
			if strings.Contains(w, "baseline") {
				style = ", dashed"
			}
			parts = append(parts, fmt.Sprintf("%s %s%s", palette[i].name, w, style))
		}
	}
	return strings.Join(parts, "; ")
}

// writeChart draws throughput (log scale) against concurrency (log scale),
// one line per workload, with the standard library only: a handful of
// lines and tick labels do not justify a plotting dependency.
func writeChart(path string, rep *Report) error {
	const W, H, left, right, top, bottom = 640, 400, 50, 20, 20, 30
	img := image.NewPaletted(image.Rect(0, 0, W, H), chartPalette())
	fill(img, color.White)
	m := chartSeries(rep)
	var cs []int
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, w := range charted {
		for _, p := range m[w] {
			if p.Throughput > 0 {
				lo, hi = math.Min(lo, p.Throughput), math.Max(hi, p.Throughput)
			}
			if !containsInt(cs, p.Concurrency) {
				cs = append(cs, p.Concurrency)
			}
		}
	}
	if len(cs) == 0 {
		return nil
	}
	minC, maxC := cs[0], cs[0]
	for _, c := range cs {
		minC, maxC = min(minC, c), max(maxC, c)
	}
	yLo, yHi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if yHi == yLo {
		yHi++
	}
	xOf := func(c int) int {
		if maxC == minC {
			return (left + W - right) / 2
		}
		return left + int(float64(W-left-right)*math.Log2(float64(c)/float64(minC))/math.Log2(float64(maxC)/float64(minC)))
	}
	yOf := func(v float64) int {
		return H - bottom - int(float64(H-top-bottom)*(math.Log10(v)-yLo)/(yHi-yLo))
	}
	grid := color.RGBA{220, 220, 220, 255}
	for d := yLo; d <= yHi; d++ {
		y := yOf(math.Pow(10, d))
		line(img, left, y, W-right, y, grid, false)
		text(img, 2, y-5, humanCount(math.Pow(10, d)), color.Black)
	}
	for _, c := range cs {
		x := xOf(c)
		line(img, x, top, x, H-bottom, grid, false)
		text(img, x-4, H-bottom+6, fmt.Sprint(c), color.Black)
	}
	line(img, left, H-bottom, W-right, H-bottom, color.Black, false)
	line(img, left, top, left, H-bottom, color.Black, false)
	for i, w := range charted {
		pts := m[w]
		dashed := strings.Contains(w, "baseline")
		for j := 0; j+1 < len(pts); j++ {
			a, b := pts[j], pts[j+1]
			if a.Throughput <= 0 || b.Throughput <= 0 {
				continue
			}
			thick(img, xOf(a.Concurrency), yOf(a.Throughput), xOf(b.Concurrency), yOf(b.Throughput), palette[i].c, dashed)
		}
		for _, p := range pts {
			if p.Throughput > 0 {
				dot(img, xOf(p.Concurrency), yOf(p.Throughput), palette[i].c)
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create chart: %w", err)
	}
	defer f.Close()
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		return fmt.Errorf("encode chart: %w", err)
	}
	return f.Close()
}

func chartPalette() color.Palette {
	p := color.Palette{color.White, color.Black, color.RGBA{220, 220, 220, 255}}
	for _, c := range palette {
		p = append(p, c.c)
	}
	return p
}

func fill(img *image.Paletted, c color.Color) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			img.Set(x, y, c)
		}
	}
}

// line draws with Bresenham's algorithm; dashed skips every other 6 pixels.
func line(img *image.Paletted, x0, y0, x1, y1 int, c color.Color, dashed bool) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for n := 0; ; n++ {
		if !dashed || (n/6)%2 == 0 {
			img.Set(x0, y0, c)
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func thick(img *image.Paletted, x0, y0, x1, y1 int, c color.Color, dashed bool) {
	for _, d := range []int{-1, 0, 1} {
		line(img, x0, y0+d, x1, y1+d, c, dashed)
	}
}

func dot(img *image.Paletted, x, y int, c color.Color) {
	for i := -3; i <= 3; i++ {
		for j := -3; j <= 3; j++ {
			img.Set(x+i, y+j, c)
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func humanCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.0fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// glyphs is a 3x5 pixel font for tick labels: digits, k and M.
var glyphs = map[rune][5]string{
	'0': {"###", "#.#", "#.#", "#.#", "###"}, '1': {".#.", "##.", ".#.", ".#.", "###"},
	'2': {"###", "..#", "###", "#..", "###"}, '3': {"###", "..#", "###", "..#", "###"},
	'4': {"#.#", "#.#", "###", "..#", "..#"}, '5': {"###", "#..", "###", "..#", "###"},
	'6': {"###", "#..", "###", "#.#", "###"}, '7': {"###", "..#", ".#.", ".#.", ".#."},
	'8': {"###", "#.#", "###", "#.#", "###"}, '9': {"###", "#.#", "###", "..#", "###"},
	'k': {"#..", "#.#", "##.", "#.#", "#.#"}, 'M': {"#.#", "###", "###", "#.#", "#.#"},
}

// text draws s at twice the glyph size.
func text(img *image.Paletted, x, y int, s string, c color.Color) {
	for _, r := range s {
		g := glyphs[r]
		for gy, row := range g {
			for gx, px := range row {
				if px == '#' {
					for i := 0; i < 4; i++ {
						img.Set(x+gx*2+i%2, y+gy*2+i/2, c)
					}
				}
			}
		}
		x += 8
	}
}
