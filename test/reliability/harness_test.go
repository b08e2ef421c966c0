package reliability

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/avroipc"
	"github.com/sluiceio/sluice/test/peers"
)

// agent is one sluice agent a scenario starts, kills and starts again on
// the same configuration and data directories.
type agent struct {
	t          *testing.T
	dir, name  string
	conf, path string
	cur        *peers.Sluice
}

func newAgent(t *testing.T, dir, name, conf string) *agent {
	t.Helper()
	path := filepath.Join(dir, name+".conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return &agent{t: t, dir: dir, name: name, conf: conf, path: path}
}

// start runs the agent and waits until it logged that it started.
func (a *agent) start() {
	a.t.Helper()
	a.startNoWait()
	a.cur.WaitLog("agent started", 60*time.Second)
}

// startNoWait runs the agent without waiting: a kill may then land in its
// start-up and recovery.
func (a *agent) startNoWait() {
	a.t.Helper()
	a.cur = peers.StartSluice(a.t, binary, a.dir, "agent", "-n", a.name, "-f", a.path)
}

func (a *agent) kill()    { a.cur.Kill() }
func (a *agent) stop()    { _ = a.cur.Stop() }
func (a *agent) pid() int { return a.cur.PID() }

// hooks aim a killLoop: before runs right before each kill (e.g. to wait
// until a file is half read), down while the agent is down after it, up
// once it has started again. Any may be nil.
type hooks struct{ before, down, up func() }

func call(f func()) {
	if f != nil {
		f()
	}
}

// killLoop kills ag -9 b.kills times at random moments spread over
// b.faultFor, restarting it after each kill; every third restart is killed
// again during its start-up and recovery. It returns how many kills were
// done and leaves the agent running.
func killLoop(t *testing.T, ag *agent, b budget, rng *rand.Rand, h hooks) int {
	t.Helper()
	gap := b.faultFor / time.Duration(b.kills)
	kills := 0
	for k := 0; k < b.kills; k++ {
		time.Sleep(gap/2 + time.Duration(rng.Int63n(int64(gap))))
		call(h.before)
		ag.kill()
		kills++
		call(h.down)
		if k%3 == 2 {
			ag.startNoWait()
			time.Sleep(time.Duration(rng.Intn(300)) * time.Millisecond)
			ag.kill()
			kills++
		}
		ag.start()
		call(h.up)
	}
	return kills
}

// newRand is a seeded source whose seed the test logs, to replay a run.
func newRand(t *testing.T) *rand.Rand {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	return rand.New(rand.NewSource(seed))
}

// seqBody is the body of event n: a fixed-width number the verifier parses
// and a little padding so that batches have some weight.
func seqBody(n int) []byte { return fmt.Appendf(nil, "seq-%09d %s", n, pad) }

const pad = "...................................................."

// avroLoad numbers events from 0 and sends them in batches over Avro RPC,
// one batch at a time, at a steady rate. A batch that fails (agent killed,
// refused) is sent again on a new connection until it is acknowledged, as
// Flume's clients do: so the acknowledged events are always 0..acked-1, and
// a batch stored before its acknowledgement was lost comes twice.
type avroLoad struct {
	addr  string
	batch int
	rate  int

	mu       sync.Mutex
	acked    int
	failures int
	lastErr  error

	stopc chan struct{}
	done  chan struct{}
}

func startAvroLoad(addr string, batch, rate int) *avroLoad {
	l := &avroLoad{addr: addr, batch: batch, rate: rate, stopc: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

func (l *avroLoad) run() {
	defer close(l.done)
	var c *avroipc.Client
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	t0 := time.Now()
	next := 0
	events := make([]*sluice.Event, l.batch)
	for {
		select {
		case <-l.stopc:
			return
		default:
		}
		// Pace: event next is due at next/rate seconds.
		if due := t0.Add(time.Duration(next) * time.Second / time.Duration(l.rate)); time.Until(due) > 0 {
			select {
			case <-l.stopc:
				return
			case <-time.After(time.Until(due)):
			}
		}
		for i := range events {
			events[i] = &sluice.Event{Body: seqBody(next + i)}
		}
		err := func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if c == nil {
				var err error
				if c, err = avroipc.Dial(ctx, l.addr, avroipc.DialOptions{ConnectTimeout: 2 * time.Second, RequestTimeout: 10 * time.Second}); err != nil {
					c = nil
					return err
				}
			}
			return c.AppendBatch(ctx, events)
		}()
		if err != nil {
			if c != nil {
				c.Close()
				c = nil
			}
			l.mu.Lock()
			l.failures++
			l.lastErr = err
			l.mu.Unlock()
			select {
			case <-l.stopc:
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		next += l.batch
		l.mu.Lock()
		l.acked = next
		l.mu.Unlock()
	}
}

// Acked is how many events (0..n-1) the agent acknowledged so far.
func (l *avroLoad) Acked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked
}

// Stop ends the load and returns the events acknowledged and the failed
// attempts.
func (l *avroLoad) Stop() (acked, failures int) {
	close(l.stopc)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked, l.failures
}

// tally is what the verifier found at the far end.
type tally struct {
	want    int     // events 0..want-1 must be there
	seen    []uint8 // how often each of them came (saturating)
	lines   int     // numbered lines read, duplicates and extras included
	extra   int     // numbered lines beyond want (sent, never acknowledged)
	torn    int     // lines cut short by a kill (always redelivered whole)
	missing int
	dups    int
	first   int // first missing number, -1 if none
}

// readOut reads every file a file_roll sink wrote into dir, each on its
// own (a file cut by a kill may end in half a line), and counts the
// numbered lines against want.
func readOut(t *testing.T, dir string, want int) tally {
	t.Helper()
	c := &seqCount{}
	paths, err := peers.RollFiles(dir)
	if err != nil && !os.IsNotExist(err) && !strings.Contains(err.Error(), "no such file") {
		t.Fatal(err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue // a file the sink removed since the listing (it held no committed event)
		}
		if err != nil {
			t.Fatal(err)
		}
		c.addLines(b)
	}
	return c.tally(want)
}

func parseSeq(line []byte) (int, bool) {
	if len(line) < 13 || !bytes.HasPrefix(line, []byte("seq-")) {
		return 0, false
	}
	n, err := strconv.Atoi(string(line[4:13]))
	return n, err == nil
}

// waitArrived polls dir until every event 0..want-1 arrived or timeout
// passes, and returns the last tally and when it was complete.
func waitArrived(t *testing.T, dir string, want int, timeout time.Duration) (tally, time.Time) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		tl := readOut(t, dir, want)
		if tl.missing == 0 {
			return tl, time.Now()
		}
		if time.Now().After(deadline) {
			return tl, time.Time{}
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// result is one row of docs/reliability.md.
type result struct {
	Scenario   string
	Sent       int // events acknowledged by the first agent (or written, for file sources)
	Arrived    int // numbered lines at the far end, duplicates included
	Lost       int
	Duplicated int
	DupBound   int
	Faults     string
	Recovery   time.Duration
	Notes      string
}

var results = struct {
	sync.Mutex
	m map[string]result
}{m: map[string]result{}}

// check asserts a scenario's outcome — nothing lost, duplicates within the
// bound — and records it for the report.
func check(t *testing.T, r result, tl tally) {
	t.Helper()
	r.Lost = tl.missing
	r.Duplicated = tl.dups
	r.Arrived = tl.lines
	if tl.torn > 0 {
		r.Notes = strings.TrimSpace(r.Notes + fmt.Sprintf(" %d line(s) cut short by a kill, each delivered whole again.", tl.torn))
	}
	t.Logf("%s: sent %d, arrived %d (%d beyond the acknowledged), lost %d, duplicated %d (bound %d), faults: %s, recovery %v. %s",
		r.Scenario, r.Sent, r.Arrived, tl.extra, r.Lost, r.Duplicated, r.DupBound, r.Faults, r.Recovery.Round(time.Millisecond), r.Notes)
	results.Lock()
	results.m[r.Scenario] = r
	results.Unlock()
	if r.Sent == 0 {
		t.Errorf("%s: nothing was sent: the scenario exercised nothing", r.Scenario)
	}
	if r.Lost > 0 {
		t.Errorf("%s: %d of %d events lost (first: %d)", r.Scenario, r.Lost, r.Sent, tl.first)
	}
	if r.Duplicated > r.DupBound {
		t.Errorf("%s: %d duplicates, more than the bound of %d (the batches in flight at each fault)", r.Scenario, r.Duplicated, r.DupBound)
	}
}

// rssKB reads a process's resident set size from /proc.
func rssKB(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
