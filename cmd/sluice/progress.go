package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
)

// progress shows how far a long one-shot command got (events sent, the
// rate) on one line of a terminal, rewritten in place a few times a
// second. It writes nothing when its writer is not a terminal, so piped or
// logged output stays clean.
type progress struct {
	w     io.Writer // nil: off
	what  string    // "sent"
	start time.Time
	last  time.Time
	every time.Duration
	now   func() time.Time
	shown bool
}

// newProgress returns a progress line on w when w is a terminal (and
// TERM is not "dumb"), else one that does nothing.
func newProgress(w io.Writer, what string) *progress {
	p := &progress{what: what, every: 250 * time.Millisecond, now: time.Now}
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) && os.Getenv("TERM") != "dumb" {
		p.w = w
	}
	p.start = p.now()
	return p
}

// update shows n events done, at most once per interval.
func (p *progress) update(n int) {
	if p.w == nil {
		return
	}
	t := p.now()
	if t.Sub(p.last) < p.every {
		return
	}
	p.last = t
	p.shown = true
	// \r and erase-line: the line is rewritten, never scrolled.
	fmt.Fprintf(p.w, "\r\x1b[K%s %d events  %s events/s  %s", p.what, n, rate(n, t.Sub(p.start)), t.Sub(p.start).Round(time.Second))
}

// done ends the line with the total, so an error or the shell prompt
// starts on a fresh line.
func (p *progress) done(n int) {
	if p.w == nil {
		return
	}
	d := p.now().Sub(p.start)
	fmt.Fprintf(p.w, "\r\x1b[K%s %d events in %s (%s events/s)\n", p.what, n, d.Round(time.Millisecond), rate(n, d))
}

func rate(n int, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(n)/d.Seconds())
}
