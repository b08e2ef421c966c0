package spooldir

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A file whose name the include pattern does not match (here a newline,
// which "." does not match) is not read, and is said so once, with its
// name escaped — not at every poll. Files past the per-minute limit are
// counted rather than listed.
func TestUnmatchedNameLoggedOnce(t *testing.T) {
	h := newHarness(t, map[string]string{"pollDelay": "10"})
	drop(t, h.dir, "bad\nname.log", "never\n", time.Hour)
	drop(t, h.dir, "good.log", "one\n", time.Hour)
	h.start()
	if got := h.bodies(1); got[0] != "one" {
		t.Fatalf("got %q", got)
	}
	// Let many polls pass: the name must still be reported only once.
	polls := h.src.counters.GenericProcessingFail.Load()
	time.Sleep(300 * time.Millisecond)
	drop(t, h.dir, "later.log", "two\n", time.Hour) // a wake-up and a new scan
	if got := h.bodies(2); got[1] != "two" {
		t.Fatalf("got %q", got)
	}
	logs := h.logs.String()
	if n := strings.Count(logs, "does not match includePattern"); n != 1 {
		t.Fatalf("skipped file reported %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs, `bad\\nname.log`) {
		t.Errorf("the name is not shown escaped:\n%s", logs)
	}
	if got := h.src.counters.GenericProcessingFail.Load(); got != polls {
		t.Errorf("skipping a name counted as a processing failure (%d → %d)", polls, got)
	}
	if !exists(h.dir + "/bad\nname.log") {
		t.Error("the skipped file was touched")
	}
}

// Past skipLogLimit new names a minute, the rest are counted, not listed.
func TestUnmatchedNamesRateLimited(t *testing.T) {
	h := newHarness(t, map[string]string{"includePattern": "^.*\\.log$"})
	for i := 0; i < 3*skipLogLimit; i++ {
		drop(t, h.dir, fmt.Sprintf("f%02d.txt", i), "x\n", time.Hour)
	}
	drop(t, h.dir, "good.log", "one\n", time.Hour)
	h.start()
	h.bodies(1)
	h.stop()
	if n := strings.Count(h.logs.String(), "does not match includePattern, so it is never read"); n != skipLogLimit {
		t.Fatalf("%d names listed, want the limit %d:\n%s", n, skipLogLimit, h.logs)
	}
	if h.src.skipQuiet != 2*skipLogLimit {
		t.Errorf("%d names held back, want %d", h.src.skipQuiet, 2*skipLogLimit)
	}
}
