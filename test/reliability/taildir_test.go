package reliability

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// rotatingLog is an application writing numbered lines to app.log at a
// steady rate and rotating it by rename (app.log → app.log.<k>, then a new
// app.log), every `every` lines and whenever asked.
type rotatingLog struct {
	t     *testing.T
	dir   string
	rate  int
	every int

	mu      sync.Mutex
	f       *os.File
	w       *bufio.Writer
	written int
	rotated int
	hold    bool // no rotation by count (the agent is down)
	stopc   chan struct{}
	done    chan struct{}
}

func startRotatingLog(t *testing.T, dir string, rate, every int) *rotatingLog {
	l := &rotatingLog{t: t, dir: dir, rate: rate, every: every, stopc: make(chan struct{}), done: make(chan struct{})}
	l.open()
	go l.run()
	return l
}

func (l *rotatingLog) open() {
	f, err := os.OpenFile(filepath.Join(l.dir, "app.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		l.t.Error(err)
		return
	}
	l.f, l.w = f, bufio.NewWriter(f)
}

// rotate renames app.log away and opens a new one. Callers hold mu.
func (l *rotatingLog) rotate() {
	l.w.Flush()
	l.f.Close()
	l.rotated++
	if err := os.Rename(filepath.Join(l.dir, "app.log"), filepath.Join(l.dir, fmt.Sprintf("app.log.%d", l.rotated))); err != nil {
		l.t.Error(err)
	}
	l.open()
}

// Hold stops (or resumes) rotation by count: a file created and renamed
// away entirely while the agent is down was never seen by it, and no
// tailer can know to read it (nor does Flume); see TestTaildirRotateKill9.
func (l *rotatingLog) Hold(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hold = on
}

// Rotate rotates now (while the agent is down, say).
func (l *rotatingLog) Rotate() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rotate()
}

func (l *rotatingLog) run() {
	defer close(l.done)
	const tick = 10 * time.Millisecond
	per := max(1, l.rate*int(tick)/int(time.Second))
	tk := time.NewTicker(tick)
	defer tk.Stop()
	for {
		select {
		case <-l.stopc:
			return
		case <-tk.C:
		}
		l.mu.Lock()
		for i := 0; i < per; i++ {
			l.w.Write(seqBody(l.written))
			l.w.WriteByte('\n')
			l.written++
			if l.written%l.every == 0 && !l.hold {
				l.rotate()
			}
		}
		l.w.Flush()
		l.mu.Unlock()
	}
}

// Stop ends writing and returns the lines written and the rotations.
func (l *rotatingLog) Stop() (written, rotated int) {
	close(l.stopc)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
	l.f.Close()
	return l.written, l.rotated
}

// taildirPosInterval is how often the source records its positions: a
// kill re-reads at most what was delivered since.
const taildirPosInterval = 500 * time.Millisecond

// TestTaildirRotateKill9: an application writes numbered lines to app.log
// and rotates it by rename; TAILDIR (pattern app\.log only, so a rotated
// file leaves the group) → file channel → file_roll is killed -9
// repeatedly, and after each kill the log is rotated while the agent is
// down, with lines written to the old file after the kill. On start the
// source finds the old file by its inode under its new name and finishes
// it: nothing lost. Rotation by count waits while the agent is down, so
// that each downtime sees one rotation: a file created and rotated away
// entirely while the agent is down is never seen by it (nor by Flume);
// a pattern matching the rotated names too is the remedy for that.
func TestTaildirRotateKill9(t *testing.T) {
	needBinary(t)
	b := durations()
	const srcBatch = 100
	rate := b.rate / 3
	dir := t.TempDir()
	logs, out := filepath.Join(dir, "logs"), filepath.Join(dir, "out")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	app := startRotatingLog(t, logs, rate, rate*5) // a rotation every 5 s while running too
	ag := newAgent(t, dir, "a1", fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = TAILDIR
a1.sources.r1.filegroups = f1
a1.sources.r1.filegroups.f1 = %s/app\\.log
a1.sources.r1.positionFile = %s/taildir_position.json
a1.sources.r1.batchSize = %d
a1.sources.r1.writePosInterval = %d
a1.sources.r1.channels = c1
`, logs, dir, srcBatch, taildirPosInterval.Milliseconds())+fileChannel("a1", dir)+fileRoll("a1", out))
	ag.start()
	downRotations := 0
	down := func() {
		app.Hold(true)
		downRotations++
		time.Sleep(200 * time.Millisecond) // lines go on into the old file
		app.Rotate()
		time.Sleep(200 * time.Millisecond) // and into the new one
	}
	kills := killLoop(t, ag, b, newRand(t), hooks{down: down, up: func() { app.Hold(false) }})
	restarted := time.Now()
	time.Sleep(time.Second)
	written, rotated := app.Stop()
	tl, at := waitArrived(t, out, written, 3*time.Minute)
	ag.stop()
	// A kill re-reads what was delivered since the last position write:
	// what was written in writePosInterval, or, while the source catches
	// up after a restart, the backlog of the downtime (under 5 s here);
	// plus a source and a sink batch.
	perKill := int((taildirPosInterval+5*time.Second).Seconds()*float64(rate)) + srcBatch + sinkBatch
	check(t, result{
		Scenario: "taildir-rotate-kill9",
		Sent:     written,
		DupBound: kills * perKill,
		Faults:   fmt.Sprintf("%d × kill -9 in %v; %d rotations, %d of them while the agent was down", kills, b.faultFor, rotated, downRotations),
		Recovery: since(restarted, at),
		Notes:    fmt.Sprintf("%d lines/s written; positions recorded every %v.", rate, taildirPosInterval),
	}, tl)
}
