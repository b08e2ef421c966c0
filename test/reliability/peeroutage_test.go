package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// seqCount counts the numbered bodies read back from a far end that is not
// a directory of files (a Kafka topic, HDFS files, an index).
type seqCount struct {
	n     []uint8 // how often each number came (saturating)
	lines int     // numbered bodies, duplicates included
	torn  int     // bodies that are not a whole numbered line
}

// maxSeq bounds the numbers counted: a garbled body must not make the
// verifier allocate gigabytes.
const maxSeq = 1 << 26

func (c *seqCount) add(body []byte) {
	n, ok := parseSeq(body)
	if !ok || n >= maxSeq {
		c.torn++
		return
	}
	c.lines++
	if n >= len(c.n) {
		c.n = append(c.n, make([]uint8, n+1-len(c.n))...)
	}
	if c.n[n] < 255 {
		c.n[n]++
	}
}

// addLines adds the lines of one file; its unfinished end (a file a kill
// cut, or one still being written) counts as torn.
func (c *seqCount) addLines(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			c.torn++
			return
		}
		c.add(b[:i])
		b = b[i+1:]
	}
}

// tally is what c holds against events 0..want-1.
func (c *seqCount) tally(want int) tally {
	tl := tally{want: want, seen: make([]uint8, want), lines: c.lines, torn: c.torn, first: -1}
	for n, k := range c.n {
		if n < want {
			tl.seen[n] = k
		} else {
			tl.extra += int(k)
		}
	}
	for n, k := range tl.seen {
		switch {
		case k == 0:
			tl.missing++
			if tl.first < 0 {
				tl.first = n
			}
		case k > 1:
			tl.dups += int(k) - 1
		}
	}
	return tl
}

// readFunc reads the far end and counts the numbered bodies there. want
// (the events 0..want-1 the caller waits for) lets a reader skip a costly
// full read while a cheap count shows some are still missing.
type readFunc func(want int) (*seqCount, error)

// waitSeq polls read until every event 0..want-1 is at the far end or
// timeout passes, and returns the last tally and when it was complete (zero
// if never). A read that fails (the peer busy) is logged and tried again.
func waitSeq(t *testing.T, read readFunc, want int, timeout time.Duration) (tally, time.Time) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var tl tally
	var last string
	for {
		c, err := read(want)
		if err == nil {
			if tl = c.tally(want); tl.missing == 0 {
				return tl, time.Now()
			}
		} else if err.Error() != last {
			last = err.Error()
			t.Logf("reading the far end: %v", err)
		}
		if time.Now().After(deadline) {
			if err != nil {
				t.Errorf("reading the far end: %v", err)
			}
			return tl, time.Time{}
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// rssTrace is a process's RSS sampled over a fault.
type rssTrace []struct {
	at time.Duration
	kb int
}

// sampleRSS samples pid's RSS every 500 ms for d.
func sampleRSS(t *testing.T, pid int, d time.Duration) rssTrace {
	t.Helper()
	var r rssTrace
	start := time.Now()
	for next := start; time.Since(start) < d; next = next.Add(500 * time.Millisecond) {
		time.Sleep(time.Until(next))
		kb, err := rssKB(pid)
		if err != nil {
			t.Fatalf("agent RSS: %v", err)
		}
		r = append(r, struct {
			at time.Duration
			kb int
		}{time.Since(start), kb})
	}
	return r
}

// summary is the trace's peak, how much it still grew in the second half
// of the fault (peak minus the first half's maximum), and a few samples as
// "s MB" for the report.
func (r rssTrace) summary() (peak, lateGrowth int, trace string) {
	if len(r) == 0 {
		return 0, 0, ""
	}
	half := r[len(r)-1].at / 2
	atHalf := 0
	var parts []string
	for i, s := range r {
		peak = max(peak, s.kb)
		if s.at < half {
			atHalf = max(atHalf, s.kb)
		}
		if i%(len(r)/6+1) == 0 || i == len(r)-1 {
			parts = append(parts, fmt.Sprintf("%.0fs %.1f", s.at.Seconds(), float64(s.kb)/1024))
		}
	}
	return peak, peak - atHalf, strings.Join(parts, ", ")
}

// progress is what the load has had acknowledged so far and how many of
// its attempts failed.
func (l *avroLoad) progress() (acked, failures int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked, l.failures
}

// startMonitored runs agent name on conf with its monitoring port (JSON
// metrics) on mon, waiting until it started. It is stopped when the test
// ends.
func startMonitored(t *testing.T, name string, mon int, conf string) *peers.Sluice {
	t.Helper()
	return peers.StartSluiceAgent(t, binary, t.TempDir(), name, conf,
		"-Dflume.monitoring.type=http", fmt.Sprintf("-Dflume.monitoring.port=%d", mon))
}

// logWarnings logs the agent's warnings and errors (the first 40): how it
// saw the fault and its end.
func logWarnings(t *testing.T, out string) {
	t.Helper()
	var w []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			w = append(w, l)
		}
	}
	if len(w) > 40 {
		w = append(w[:40], fmt.Sprintf("... and %d more", len(w)-40))
	}
	t.Logf("the agent's %d warnings and errors:\n%s", len(w), strings.Join(w, "\n"))
}

// channelSize is the ChannelSize of channel c1 of the agent monitored on
// port mon: the events it holds, those in open takes included.
func channelSize(t *testing.T, mon int) int {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", mon))
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	var m map[string]map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("metrics: %v", err)
	}
	n, err := strconv.Atoi(m["CHANNEL.c1"]["ChannelSize"])
	if err != nil {
		t.Fatalf("metrics: CHANNEL.c1 ChannelSize: %v (%v)", err, m["CHANNEL.c1"])
	}
	return n
}

// maxLateGrowthKB is how much RSS may still grow in the second half of a
// fault once the channel is full: garbage-collector noise, not events.
const maxLateGrowthKB = 16 * 1024

// peerOutage is a downstream server stopped for the outage budget under
// avro → memory channel (outageChannel events) → the sink being tested.
type peerOutage struct {
	scenario string
	peer     string              // what is stopped, for the report: "the Kafka broker"
	sink     func(string) string // the properties of sink k1 (on c1) of the named agent
	sinkDoc  string              // what, besides the channel, holds events in the sink
	batch    int                 // the sink's batch size
	stop     func() error        // stops the server
	start    func() error        // starts it again and waits until it serves
	read     readFunc
}

// runPeerOutage: a client streams numbered events into the agent; after a
// few seconds the server is stopped for the outage budget, while the
// client keeps sending. The channel fills, then the source refuses and the
// client waits (backpressure reaches the client), so the agent's RSS
// (sampled) levels off. The server comes back; the sink recovers by itself
// (timed until every event acknowledged by then is read back), and after
// a few more seconds of load everything acknowledged is at the far end.
func runPeerOutage(t *testing.T, o peerOutage) {
	t.Helper()
	b := durations()
	port, mon := peers.FreePort(t), peers.FreePort(t)
	ag := startMonitored(t, "o1", mon, avroSource("o1", port)+fmt.Sprintf(`o1.channels.c1.type = memory
o1.channels.c1.capacity = %d
o1.channels.c1.transactionCapacity = 1000
`, outageChannel)+o.sink("o1"))
	load := startAvroLoad(fmt.Sprintf("127.0.0.1:%d", port), clientBatch, b.rate)
	// Some seconds of traffic through the sink before the server goes.
	time.Sleep(5 * time.Second)
	if _, at := waitSeq(t, o.read, 3000, 2*time.Minute); at.IsZero() {
		load.Stop()
		t.Fatalf("%s: the first 3000 events never reached %s", o.scenario, o.peer)
	}

	if err := o.stop(); err != nil {
		t.Fatalf("stopping %s: %v", o.peer, err)
	}
	ackedAtStop, failedAtStop := load.progress()
	rss := sampleRSS(t, ag.PID(), b.outage)
	ackedEnd, failedEnd := load.progress()
	ackedDuring, refusedDuring := ackedEnd-ackedAtStop, failedEnd-failedAtStop
	fill := channelSize(t, mon)
	if err := o.start(); err != nil {
		t.Fatalf("starting %s again: %v", o.peer, err)
	}
	restarted := time.Now()
	_, back := waitSeq(t, o.read, load.Acked(), 3*time.Minute)
	time.Sleep(3 * time.Second) // the client goes on after the recovery
	acked, failures := load.Stop()
	tl, _ := waitSeq(t, o.read, acked, 3*time.Minute)
	_ = ag.Stop()
	logWarnings(t, ag.Output())

	peak, late, trace := rss.summary()
	t.Logf("agent RSS while %s was away (s MB): %s; peak %.1f MB, +%.1f MB over the second half; acknowledged during the outage: %d, channel at %d of %d at its end",
		o.peer, trace, float64(peak)/1024, float64(late)/1024, ackedDuring, fill, outageChannel)
	// The channel holds at most outageChannel events, the sink's batch in
	// flight among them: anything acknowledged beyond that (and the client
	// batch being committed) is buffered somewhere unbounded.
	if ackedDuring > outageChannel+clientBatch {
		t.Errorf("the agent acknowledged %d events while %s was away, more than its channel holds (%d)", ackedDuring, o.peer, outageChannel)
	}
	// Full: the source refused batches, and the channel held what it can
	// (a batch or so may be between a take and its commit, or a put and
	// its refusal, when it is read).
	if refusedDuring == 0 || fill < outageChannel*9/10 {
		t.Errorf("the channel did not fill while %s was away (%d of %d; %d batches refused): the RSS trace shows nothing", o.peer, fill, outageChannel, refusedDuring)
	}
	if late > maxLateGrowthKB {
		t.Errorf("agent RSS still grew %.1f MB over the second half of the outage (%s): not bounded", float64(late)/1024, trace)
	}
	check(t, result{
		Scenario: o.scenario,
		Sent:     acked,
		DupBound: 2 * o.batch, // the batch in flight when the server stopped, and one cut by its return
		Faults:   fmt.Sprintf("%s stopped for %v; the client's batches refused %d times meanwhile (%d in all)", o.peer, b.outage, refusedDuring, failures),
		Recovery: since(restarted, back),
		Notes: fmt.Sprintf("The memory channel (capacity %d) held %d events at the end of the outage; the source refused batches once it was full. Agent RSS (MB at s): %s; peak %.1f MB, +%.1f MB over the second half: bounded by the channel's capacity%s.",
			outageChannel, fill, trace, float64(peak)/1024, float64(late)/1024, o.sinkDoc),
	}, tl)
}
