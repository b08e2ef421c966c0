package reliability

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// goStats is what an agent's Prometheus endpoint says of its Go heap.
type goStats struct{ alloc, goal, cycles float64 }

// goMem reads go_memstats_heap_alloc_bytes, go_gc_heap_goal_bytes and
// go_gc_cycles_total from the agent monitored on port mon.
func goMem(t *testing.T, mon int) goStats {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics/prometheus", mon))
	if err != nil {
		t.Fatalf("prometheus metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("prometheus metrics: %v", err)
	}
	var g goStats
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "go_memstats_heap_alloc_bytes":
			g.alloc = v
		case "go_gc_heap_goal_bytes":
			g.goal = v
		case "go_gc_cycles_total":
			g.cycles = v
		}
	}
	if g.goal == 0 {
		t.Fatalf("no go_gc_heap_goal_bytes in the agent's Prometheus metrics:\n%s", b)
	}
	return g
}

// slowLink is a TCP relay from a local port to target whose client-to-
// server direction carries at most rate bytes a second (0: no limit), as a
// slow WAN link between two tiers would.
type slowLink struct {
	ln     net.Listener
	target string
	rate   atomic.Int64
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

func startSlowLink(t *testing.T, target string, rate int64) *slowLink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &slowLink{ln: ln, target: target}
	l.rate.Store(rate)
	l.wg.Add(1)
	go l.accept()
	t.Cleanup(l.close)
	return l
}

func (l *slowLink) port() int { return l.ln.Addr().(*net.TCPAddr).Port }

func (l *slowLink) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.DialTimeout("tcp", l.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		l.mu.Lock()
		l.conns = append(l.conns, c, s)
		l.mu.Unlock()
		l.wg.Add(2)
		go func() { defer l.wg.Done(); l.throttled(s, c); s.Close() }()
		go func() { defer l.wg.Done(); _, _ = io.Copy(c, s); c.Close() }()
	}
}

// throttled copies src to dst in chunks, pacing them to the current rate.
func (l *slowLink) throttled(dst, src net.Conn) {
	buf := make([]byte, 1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if r := l.rate.Load(); r > 0 {
				time.Sleep(time.Duration(n) * time.Second / time.Duration(r))
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (l *slowLink) close() {
	l.ln.Close()
	l.mu.Lock()
	for _, c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

const (
	slowChannel = 10000     // tier 1's memory channel
	slowRate    = 48 * 1024 // bytes/s from tier 1 to tier 2: ~600 events/s
)

// TestSlowSink: client → tier 1 (avro → memory channel → avro sink) → a
// link carrying 48 KB/s → tier 2 (avro → memory channel → file_roll). The
// client offers 3000 events/s, tier 1's sink gets ~600/s through: its
// channel fills, then its source makes each batch wait for room (up to the
// channel's keep-alive) or refuses it, so the client's rate falls to the
// sink's. Nothing is dropped, tier 1 never holds more than its channel,
// and its RSS (sampled) stays flat. Then the link's limit is lifted and
// the backlog drains by itself.
func TestSlowSink(t *testing.T) {
	needBinary(t)
	b := durations()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	p1, p2, mon := peers.FreePort(t), peers.FreePort(t), peers.FreePort(t)
	a2 := newAgent(t, dir, "t2", avroSource("t2", p2)+`t2.channels.c1.type = memory
t2.channels.c1.capacity = 100000
t2.channels.c1.transactionCapacity = 1000
`+fileRoll("t2", out))
	a2.start()
	link := startSlowLink(t, fmt.Sprintf("127.0.0.1:%d", p2), slowRate)
	a1 := startMonitored(t, "t1", mon, forwarder("t1", p1, slowChannel, link.port()))
	load := startAvroLoad(fmt.Sprintf("127.0.0.1:%d", p1), clientBatch, b.rate)

	// The channel fills within seconds; the sample covers the slow phase,
	// as long as an outage.
	started := time.Now()
	gc0 := goMem(t, mon)
	rss := sampleRSS(t, a1.PID(), b.outage)
	slow := time.Since(started)
	gc1 := goMem(t, mon)
	ackedSlow, failuresSlow := load.progress()
	fill := channelSize(t, mon)
	// What tier 1 acknowledged and tier 2 has not got yet.
	held := readOut(t, out, ackedSlow).missing
	link.rate.Store(0)
	lifted := time.Now()
	_, back := waitArrived(t, out, ackedSlow, 3*time.Minute)
	time.Sleep(3 * time.Second) // the client goes on at full speed
	acked, failures := load.Stop()
	tl, _ := waitArrived(t, out, acked, 3*time.Minute)
	_ = a1.Stop()
	a2.stop()

	peak, late, trace := rss.summary()
	heap := fmt.Sprintf("Go heap %.1f → %.1f MB allocated, garbage included (collector's goal %.1f MB, %d collections in the slow phase)",
		gc0.alloc/(1<<20), gc1.alloc/(1<<20), gc1.goal/(1<<20), int(gc1.cycles-gc0.cycles))
	t.Logf("%s", heap)
	offered := int(slow.Seconds() * float64(b.rate))
	t.Logf("slow phase %v: the client offered ~%d events, tier 1 acknowledged %d (%d refusals), %d arrived, %d held by tier 1 (its channel: %d); RSS (s MB) %s, peak %.1f MB, +%.1f MB over the second half",
		slow.Round(time.Second), offered, ackedSlow, failuresSlow, ackedSlow-held, held, fill, trace, float64(peak)/1024, float64(late)/1024)
	// What tier 1 acknowledged and tier 2 has not got is in tier 1's
	// channel (or in the batch on the link, counted in it): never more.
	if held > slowChannel+clientBatch {
		t.Errorf("tier 1 holds %d events acknowledged but not delivered, more than its channel (%d): buffered somewhere unbounded", held, slowChannel)
	}
	if fill < slowChannel*9/10 {
		t.Errorf("tier 1's channel holds %d events at the end of the slow phase, not full (%d): the sink was not the bottleneck", fill, slowChannel)
	}
	if ackedSlow > offered*3/4 {
		t.Errorf("tier 1 acknowledged %d of the ~%d events offered: the client was not slowed down to the sink's pace", ackedSlow, offered)
	}
	if late > maxLateGrowthKB {
		t.Errorf("tier 1 RSS still grew %.1f MB over the second half of the slow phase (%s)", float64(late)/1024, trace)
	}
	check(t, result{
		Scenario: "slow-sink",
		Sent:     acked,
		DupBound: 0, // nothing fails: every batch is delivered once
		Faults:   fmt.Sprintf("tier 1 → tier 2 link limited to %d KB/s for %v (client offered %d events/s), then the limit lifted; the client's batches refused %d times in all", slowRate/1024, slow.Round(time.Second), b.rate, failures),
		Recovery: since(lifted, back),
		Notes: fmt.Sprintf("In the slow phase the client got %d of ~%d events acknowledged (%d batches refused, the others waited for room); tier 1 held %d undelivered, its channel %d (capacity %d). Tier 1 RSS (MB at s): %s; peak %.1f MB, +%.1f MB over the second half; %s: what RSS still gains is garbage below the collector's goal, the live events bounded by the channel's capacity.",
			ackedSlow, offered, failuresSlow, held, fill, slowChannel, trace, float64(peak)/1024, float64(late)/1024, heap),
	}, tl)
}
