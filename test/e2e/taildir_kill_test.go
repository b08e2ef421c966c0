package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// After kill -9 the source resumes from its position file: nothing written
// before, during or after the outage is lost (lines after the last
// position written may come twice).
func TestTaildirKill9ResumesFromThePositionFile(t *testing.T) {
	dir := t.TempDir()
	logs, out := filepath.Join(dir, "logs"), filepath.Join(dir, "out")
	os.Mkdir(logs, 0o755)
	app := openAppLog(t, filepath.Join(logs, "app.log"))
	channel := fmt.Sprintf("a1.channels.c1.type = file\na1.channels.c1.checkpointDir = %s\na1.channels.c1.dataDirs = %s\n"+
		"a1.channels.c1.transactionCapacity = 1000", filepath.Join(dir, "cp"), filepath.Join(dir, "data"))
	conf := taildirConf(t, dir, channel, "a1.sources.r1.writePosInterval = 200\na1.sources.r1.batchSize = 500")
	p := startAgent(t, dir, conf)

	// Write until well past the first position file write, then kill.
	for i := 0; i < 40; i++ {
		app.write(5000)
		time.Sleep(5 * time.Millisecond)
	}
	// Kill once the position file records progress.
	posLines := 0
	deadline := time.Now().Add(time.Minute)
	for posLines == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the position file recorded no progress")
		}
		time.Sleep(20 * time.Millisecond)
		var e []struct{ Pos int }
		b, _ := os.ReadFile(filepath.Join(dir, "pos.json"))
		if json.Unmarshal(b, &e) == nil && len(e) == 1 {
			posLines = e[0].Pos / len("line 0000000\n")
		}
	}
	app.write(5000)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(20 * time.Second)
	before, _ := os.ReadFile(filepath.Join(dir, "pos.json"))
	var e []struct{ Pos int }
	json.Unmarshal(before, &e)
	posLines = e[0].Pos / len("line 0000000\n")
	writtenAtKill := app.next
	app.write(50000) // while the agent is down

	startAgent(t, dir, conf)
	app.write(10000)
	total := app.next
	deadline = time.Now().Add(2 * time.Minute)
	for {
		got := readDirLines(t, out)
		seen := make([]int, total)
		for _, l := range got {
			n, err := strconv.Atoi(strings.TrimPrefix(l, "line "))
			if err != nil || n >= total {
				t.Fatalf("bad line %q", l)
			}
			seen[n]++
		}
		missing, dups := 0, 0
		for _, c := range seen {
			if c == 0 {
				missing++
			}
			if c > 1 {
				dups += c - 1
			}
		}
		if missing == 0 {
			// Only lines after the last position written can come again
			// (committed to the channel, not yet recorded), not the file.
			if dups > writtenAtKill-posLines {
				t.Fatalf("%d lines twice; the position file said %d of the %d lines written were done", dups, posLines, writtenAtKill)
			}
			t.Logf("all %d lines after kill -9 and restart (position file %s); %d delivered twice", total, before, dups)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d lines missing", missing, total)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
