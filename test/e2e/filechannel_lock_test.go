package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A second agent pointed at the directories of a running file channel
// refuses to start and names the directory; the first keeps running.
func TestFileChannelSecondAgentRefused(t *testing.T) {
	dir := t.TempDir()
	conf1 := writeConf(t, dir, fileChannelConf(dir, freePort(t)))
	first := startAgent(t, dir, conf1)

	dir2 := t.TempDir()
	conf2 := writeConf(t, dir2, strings.ReplaceAll(fileChannelConf(dir, freePort(t)),
		filepath.Join(dir, "out"), filepath.Join(dir2, "out")))
	second := run(t, dir2, "agent", "-n", "a1", "-f", conf2)
	err := second.wait(30 * time.Second)
	out := second.out.String()
	if err == nil {
		t.Fatalf("second agent exited cleanly:\n%s", out)
	}
	want := fmt.Sprintf("directory %s is in use", filepath.Join(dir, "checkpoint"))
	if !strings.Contains(out, want) {
		t.Fatalf("second agent's output does not say %q:\n%s", want, out)
	}
	select {
	case <-first.done:
		t.Fatalf("first agent died: %s", first.out.String())
	default:
	}
	if err := first.stop(); err != nil {
		t.Errorf("first agent: %v", err)
	}
}
