package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress draws one status line on a terminal: files done of total and
// bytes processed of total, redrawn a few times a second. When the output
// is not a terminal it does nothing, so logs and pipes stay clean. A
// dependency would add little over these few lines.
type progress struct {
	w          io.Writer
	files      int
	totalBytes int64

	doneFiles atomic.Int64
	doneBytes atomic.Int64

	once sync.Once
	quit chan struct{}
	done chan struct{}
}

const progressInterval = 200 * time.Millisecond

func newProgress(w io.Writer, terminal bool, files int, totalBytes int64) *progress {
	p := &progress{w: w, files: files, totalBytes: totalBytes}
	if !terminal {
		return p
	}
	p.quit, p.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				p.draw()
				fmt.Fprintln(p.w)
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
	return p
}

func (p *progress) fileDone()           { p.doneFiles.Add(1) }
func (p *progress) addBytes(n int64)    { p.doneBytes.Add(n) }
func (p *progress) active() bool        { return p.quit != nil }
func (p *progress) String() string      { return p.line(40) }
func (p *progress) draw()               { fmt.Fprintf(p.w, "\r%s", p.line(30)) }
func mib(n int64) string                { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) }
func clamp(v, lo, hi float64) float64   { return min(max(v, lo), hi) }
func ratio(done, total float64) float64 { return clamp(done/max(total, 1), 0, 1) }

// stop draws the final state and ends the line; safe to call twice.
func (p *progress) stop() {
	if !p.active() {
		return
	}
	p.once.Do(func() {
		close(p.quit)
		<-p.done
	})
}

func (p *progress) line(width int) string {
	f, b := p.doneFiles.Load(), p.doneBytes.Load()
	filled := int(ratio(float64(b), float64(p.totalBytes)) * float64(width))
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	return fmt.Sprintf("[%s] %d/%d files  %s/%s MiB", bar, f, p.files, mib(b), mib(p.totalBytes))
}
