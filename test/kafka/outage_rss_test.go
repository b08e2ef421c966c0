package kafka

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice/test/peers"
)

// vmRSS is the resident set size of pid in kB, from /proc/<pid>/status.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read the agent's status: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatalf("VmRSS line %q: %v", l, err)
			}
			return n
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// netcatFeeder sends numbered lines to a netcat source one at a time, for
// as long as it runs. A line answered OK is acknowledged (committed to the
// channel) and the next one follows; a line answered FAILED (the channel is
// full) is sent again, so that the source keeps being pushed all through an
// outage.
type netcatFeeder struct {
	acked     atomic.Int64 // lines 0..acked-1 were answered OK
	refused   atomic.Int64 // FAILED replies
	firstFull atomic.Int64 // unix nanos of the first FAILED reply; 0 before
	stop      chan struct{}
	done      chan error
}

const outageBodyPad = 300 // bytes of padding per line, so the channel's contents weigh

func outageLine(i int64) string {
	return fmt.Sprintf("ev-%08d-%s", i, strings.Repeat("x", outageBodyPad))
}

func startFeeder(t *testing.T, addr string) *netcatFeeder {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	f := &netcatFeeder{stop: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		defer c.Close()
		r := bufio.NewReader(c)
		for {
			select {
			case <-f.stop:
				f.done <- nil
				return
			default:
			}
			i := f.acked.Load()
			_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
			if _, err := c.Write([]byte(outageLine(i) + "\n")); err != nil {
				f.done <- fmt.Errorf("write line %d: %w", i, err)
				return
			}
			reply, err := r.ReadString('\n')
			switch {
			case err != nil:
				f.done <- fmt.Errorf("reply to line %d: %w", i, err)
				return
			case reply == "OK\n":
				f.acked.Add(1)
			case strings.HasPrefix(reply, "FAILED"):
				f.refused.Add(1)
				f.firstFull.CompareAndSwap(0, time.Now().UnixNano())
				// Retry soon, not in a tight loop: the source is pushed
				// hard, the machine is shared.
				time.Sleep(2 * time.Millisecond)
			default:
				f.done <- fmt.Errorf("line %d: unexpected reply %q", i, reply)
				return
			}
		}
	}()
	return f
}

// The broker is killed (SIGKILL) for 30 s in the middle of a stream
// netcat → memory channel (bounded) → Kafka sink, while the test keeps
// pushing numbered lines into the source. While the broker is away the
// agent's RSS is sampled every 500 ms: once the channel is full nothing
// more is accepted, so memory must level off rather than grow with the
// refused events and the failed batches. After the broker is restarted the
// sink recovers by itself, every acknowledged line reaches the topic
// (duplicates allowed, counted), and the outage is logged once when it
// begins and once when it ends.
func TestSinkBrokerDown30sRSSFlat(t *testing.T) {
	topic := Topic(t, 2)
	port := peers.FreePort(t)
	// The channel holds at most 5000 events of ~320 bytes: about 1.6 MB of
	// bodies (~2 MB with the event structs), whatever the outage's length.
	// keep-alive 0: a put into the full channel is refused at once rather
	// than after 3 s, so the source is pushed (and refuses) hundreds of
	// times a second, which would show a per-event leak or log line. A
	// batch fails after 5 s rather than Java's 2 minutes, so the 30 s
	// outage is seen as several failed batches (and one log line).
	conf := fmt.Sprintf(`a1.sources = nc
a1.channels = c1
a1.sinks = kk
a1.sources.nc.type = netcat
a1.sources.nc.bind = 127.0.0.1
a1.sources.nc.port = %[1]d
a1.sources.nc.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 5000
a1.channels.c1.transactionCapacity = 100
a1.channels.c1.keep-alive = 0
a1.sinks.kk.type = kafka
a1.sinks.kk.channel = c1
a1.sinks.kk.kafka.bootstrap.servers = %[2]s
a1.sinks.kk.kafka.topic = %[3]s
a1.sinks.kk.flumeBatchSize = 100
a1.sinks.kk.kafka.producer.delivery.timeout.ms = 5000
a1.sinks.kk.kafka.producer.request.timeout.ms = 3000
`, port, broker.Addr, topic)
	// The full channel turns away hundreds of puts a second, each leaving
	// a little garbage: with the default GOGC=100 the heap (and RSS) climbs
	// by tens of MB until the collector's next cycle, whenever that falls,
	// which would hide a leak or fake one. GOGC=10 (inherited by the agent)
	// collects after 10% growth, so RSS follows what the agent retains.
	t.Setenv("GOGC", "10")
	a := Agent(t, t.TempDir(), "a1", conf)
	f := startFeeder(t, fmt.Sprintf("127.0.0.1:%d", port))
	stopFeeder := sync.OnceValue(func() error { close(f.stop); return <-f.done })
	t.Cleanup(func() { _ = stopFeeder() })

	waitCond(t, "5000 lines acknowledged before the outage", 2*time.Minute, func() bool { return f.acked.Load() >= 5000 })
	beforeKill := f.acked.Load()
	if err := broker.Kill(); err != nil {
		t.Fatalf("kill the broker: %v", err)
	}
	killed := time.Now()
	type sample struct {
		at  time.Duration
		rss int64 // kB
	}
	var series []sample
	for next := killed; time.Since(killed) < 30*time.Second; next = next.Add(500 * time.Millisecond) {
		time.Sleep(time.Until(next))
		series = append(series, sample{time.Since(killed).Round(10 * time.Millisecond), vmRSS(t, a.PID())})
	}
	duringOutage := f.acked.Load() - beforeKill
	refusedInOutage := f.refused.Load()
	if err := broker.Restart(); err != nil {
		t.Fatalf("restart the broker: %v\n%s", err, broker.LogTail())
	}
	restarted := time.Now()

	var b strings.Builder
	for _, s := range series {
		fmt.Fprintf(&b, " %v:%.1fMB", s.at, float64(s.rss)/1024)
	}
	t.Logf("agent RSS every 500 ms while the broker was down (t since the kill):%s", b.String())

	// The comparison is about a full channel: it must have filled (the
	// source answered FAILED) before the first window begins.
	full := f.firstFull.Load()
	if full == 0 {
		t.Fatalf("the channel never filled during the outage (%d lines acknowledged in it): the RSS windows would not show a leak", duringOutage)
	}
	fullAfter := time.Unix(0, full).Sub(killed)
	t.Logf("%d lines acknowledged before the kill, %d during the outage; the channel first refused a put %v after the kill (negative: before it); %d puts refused by the restart", beforeKill, duringOutage, fullAfter.Round(10*time.Millisecond), refusedInOutage)
	if fullAfter > 10*time.Second {
		t.Fatalf("the channel filled only %v after the kill; the RSS windows (10-20 s, 20-30 s) need it full", fullAfter)
	}
	maxIn := func(from, to time.Duration) int64 {
		var m int64
		for _, s := range series {
			if s.at >= from && s.at < to && s.rss > m {
				m = s.rss
			}
		}
		return m
	}
	// Bound: once the channel is full it holds what it holds (~2 MB, see
	// the conf); what still moves is garbage (each refused put, each
	// rebuilt batch of 100) that the collector reclaims. Growing by more
	// than the channel's whole content in 10 s while the channel stays
	// full would mean something else holds events: a leak of one body per
	// refused put (hundreds a second here) passes it within the window,
	// and GOGC=10 keeps the collector's slack well under it.
	const boundKB = 2 * 1024
	early, late := maxIn(10*time.Second, 20*time.Second), maxIn(20*time.Second, 31*time.Second)
	t.Logf("max RSS 10-20 s after the kill: %.1f MB; 20-30 s: %.1f MB (bound: +%d MB)", float64(early)/1024, float64(late)/1024, boundKB/1024)
	if late > early+boundKB {
		t.Errorf("RSS kept growing while the broker was down: max %.1f MB in the last 10 s vs %.1f MB in the 10 s before", float64(late)/1024, float64(early)/1024)
	}

	// Recovery by itself: the sink delivers again and the source accepts
	// lines again, with nothing done but the broker's restart.
	a.WaitLog("delivering again", 3*time.Minute)
	afterRestart := f.acked.Load()
	waitCond(t, "5000 more lines acknowledged after the restart", 3*time.Minute, func() bool { return f.acked.Load() >= afterRestart+5000 })
	if err := stopFeeder(); err != nil {
		t.Fatalf("feeder: %v", err)
	}
	acked := f.acked.Load()
	t.Logf("sink delivering again %v after the restart; %d lines acknowledged in all", time.Since(restarted).Round(time.Second), acked)

	// Every acknowledged line is in the topic.
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seen := make(map[string]int, acked)
	records, missing := 0, acked
	deadline := time.Now().Add(3 * time.Minute)
	for missing > 0 && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			records++
			seen[string(r.Value)]++
		})
		missing = 0
		for i := int64(0); i < acked; i++ {
			if seen[outageLine(i)] == 0 {
				missing++
			}
		}
	}
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	t.Logf("%d records read back, %d distinct, %d duplicates (at-least-once)", records, len(seen), dups)
	if missing > 0 {
		for i := int64(0); i < acked; i++ {
			if seen[outageLine(i)] == 0 {
				t.Errorf("%d of %d acknowledged lines are not in the topic, e.g. ev-%08d", missing, acked, i)
				break
			}
		}
	}

	// The outage: one line when it began, one when it ended; not one per
	// failed batch or per refused event.
	log := a.Output()
	if n := strings.Count(log, "delivery failed; the batch was rolled back"); n != 1 {
		t.Errorf("the outage's beginning was logged %d times, want once:\n%s", n, log)
	}
	if n := strings.Count(log, "delivering again"); n != 1 {
		t.Errorf("the recovery was logged %d times, want once:\n%s", n, log)
	}
	// The source's refusals are rate-limited: a line per 10 s at most,
	// however many events it turned away.
	refusals := strings.Count(log, "channels refused events")
	if limit := 2 + int(time.Since(killed)/(10*time.Second)); refusals > limit {
		t.Errorf("the full channel was logged %d times (%d refused puts), want at most %d (one per 10 s):\n%s", refusals, f.refused.Load(), limit, log)
	}
	others := strings.Count(log, "level=WARN") + strings.Count(log, "level=ERROR") - refusals -
		strings.Count(log, "delivery failed; the batch was rolled back") - strings.Count(log, "still failing")
	if others != 0 {
		t.Errorf("%d other warnings and errors during the outage:\n%s", others, log)
	}
	t.Logf("%d refused puts in all, logged in %d lines", f.refused.Load(), refusals)
	t.Logf("the agent's log:\n%s", log)
}
