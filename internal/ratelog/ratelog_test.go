package ratelog

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLimiterCountsWhatItHeldBack(t *testing.T) {
	l := Limiter{Every: time.Hour}
	if ok, n := l.Allow(); !ok || n != 0 {
		t.Fatalf("first: %v %d", ok, n)
	}
	for range 3 {
		if ok, _ := l.Allow(); ok {
			t.Fatal("second line within the interval let through")
		}
	}
	l.last = time.Now().Add(-2 * time.Hour)
	if ok, n := l.Allow(); !ok || n != 3 {
		t.Fatalf("after the interval: %v, held back %d, want 3", ok, n)
	}
}

func TestOutageLogsBeginAndEndOnce(t *testing.T) {
	var buf bytes.Buffer
	o := Outage{Log: slog.New(slog.NewTextHandler(&buf, nil)), Remind: time.Hour}
	for range 100 {
		o.Fail("delivery failing", errors.New("connection refused"), "sink", "k1")
	}
	o.OK("delivering again")
	o.OK("delivering again")
	out := buf.String()
	if n := strings.Count(out, "\n"); n != 2 {
		t.Fatalf("want 2 lines (begin, end), got %d:\n%s", n, out)
	}
	if !strings.Contains(out, "connection refused") || !strings.Contains(out, "failures=100") {
		t.Errorf("lines lack the cause or the count:\n%s", out)
	}
}

// A burst lets that many lines through per interval, then holds the rest
// and reports them with the next line let through.
func TestLimiterBurst(t *testing.T) {
	l := Limiter{Every: time.Hour, Burst: 3}
	for i := 0; i < 3; i++ {
		if ok, held := l.Allow(); !ok || held != 0 {
			t.Fatalf("line %d: %v %d, want let through", i, ok, held)
		}
	}
	for i := 0; i < 5; i++ {
		if ok, _ := l.Allow(); ok {
			t.Fatalf("line %d past the burst let through", 3+i)
		}
	}
	l.mu.Lock()
	l.last = l.last.Add(-2 * time.Hour) // the next interval
	l.mu.Unlock()
	if ok, held := l.Allow(); !ok || held != 5 {
		t.Fatalf("first line of the next interval: %v, held %d, want true, 5", ok, held)
	}
}
