package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A reload that fixes a broken sink delivers what the memory channel held
// meanwhile: the unchanged channel is kept with its events, as in Flume.
func TestReloadKeepsTheEventsOfAnUnchangedMemoryChannel(t *testing.T) {
	dir := t.TempDir()
	broken, out := filepath.Join(dir, "broken"), filepath.Join(dir, "out")
	for _, d := range []string{broken, out} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	conf := writeConf(t, dir, reloadConf("r1", port, broken))
	p := startAgent(t, dir, conf, fastPoll)
	// Break the sink once it runs (a plain file where it keeps its files):
	// the events stay queued in the channel.
	os.RemoveAll(broken)
	if err := os.WriteFile(broken, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := lines("queued", 50)
	if r := sendLines(t, fmt.Sprintf("127.0.0.1:%d", port), want); len(r) != len(want) {
		t.Fatalf("%d replies for %d lines", len(r), len(want))
	}
	replaceConf(t, conf, reloadConf("r1", port, out))
	p.waitLog("channel unchanged by the reload: kept with its events", 30*time.Second)
	p.waitLog("reloaded", 30*time.Second)
	got := waitLines(t, out, len(want), 30*time.Second)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("after the reload the fixed sink wrote %d lines, want the %d queued before it, in order", len(got), len(want))
	}
	if err := p.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}
