package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// Not a terminal: nothing at all.
func TestProgressQuietWhenPiped(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "sent")
	p.every = 0
	p.update(10)
	p.done(10)
	if buf.Len() != 0 {
		t.Errorf("progress wrote %q to a buffer", buf.String())
	}
}

// On a terminal: one line rewritten in place at most once per interval,
// with count and rate, and a final line with the total.
func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(1000, 0)
	p := &progress{w: &buf, what: "sent", every: 250 * time.Millisecond, now: func() time.Time { return clock }}
	p.start = clock
	clock = clock.Add(time.Second)
	p.update(1000)
	p.update(1005) // within the interval: not shown
	clock = clock.Add(time.Second)
	p.update(3000)
	p.done(3000)
	want := "\r\x1b[Ksent 1000 events  1000 events/s  1s" +
		"\r\x1b[Ksent 3000 events  1500 events/s  2s" +
		"\r\x1b[Ksent 3000 events in 2s (1500 events/s)\n"
	if got := buf.String(); got != want {
		t.Errorf("progress wrote\n%q\nwant\n%q", got, want)
	}
	if strings.Count(buf.String(), "\n") != 1 {
		t.Error("the progress line scrolled")
	}
}
