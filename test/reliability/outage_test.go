package reliability

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// outageChannel is the capacity of tier 1's memory channel: what it may
// hold while the downstream is away, and so what bounds its memory.
const outageChannel = 20000

// TestDownstreamOutage: client → tier 1 (avro → memory channel → avro
// sink) → tier 2 (avro → memory channel → file_roll). Tier 2 stops for
// the outage while the client keeps sending; tier 1's channel fills, then
// its source refuses and the client waits (backpressure reaches the
// client). Tier 2 starts again and tier 1 resumes by itself: nothing lost.
// Tier 1's RSS is sampled from /proc while it waits and must level off.
func TestDownstreamOutage(t *testing.T) {
	needBinary(t)
	b := durations()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	p1, p2 := peers.FreePort(t), peers.FreePort(t)
	a1 := newAgent(t, dir, "t1", forwarder("t1", p1, outageChannel, p2))
	a2 := newAgent(t, dir, "t2", avroSource("t2", p2)+`t2.channels.c1.type = memory
t2.channels.c1.capacity = 100000
t2.channels.c1.transactionCapacity = 1000
`+fileRoll("t2", out))
	a2.start()
	a1.start()
	load := startAvroLoad(fmt.Sprintf("127.0.0.1:%d", p1), clientBatch, b.rate)
	time.Sleep(3 * time.Second)

	a2.stop()
	stopped := time.Now()
	ackedAtStop := load.Acked()
	type sample struct {
		at time.Duration
		kb int
	}
	var samples []sample
	for time.Since(stopped) < b.outage {
		kb, err := rssKB(a1.pid())
		if err != nil {
			t.Fatalf("tier 1: %v", err)
		}
		samples = append(samples, sample{time.Since(stopped), kb})
		time.Sleep(500 * time.Millisecond)
	}
	ackedDuring := load.Acked() - ackedAtStop
	a2.start()
	restarted := time.Now()
	ackedAtRestart := load.Acked()
	_, back := waitArrived(t, out, ackedAtRestart, 3*time.Minute)
	time.Sleep(3 * time.Second) // the client goes on after the recovery
	acked, failures := load.Stop()
	tl, _ := waitArrived(t, out, acked, 3*time.Minute)
	a1.stop()
	a2.stop()

	// Where tier 1's RSS levelled off: its peak over the whole outage, and
	// how much it still grew over the second half.
	peak, atHalf := 0, 0
	var trace []string
	for i, s := range samples {
		peak = max(peak, s.kb)
		if s.at < b.outage/2 {
			atHalf = max(atHalf, s.kb)
		}
		if i%(len(samples)/6+1) == 0 || i == len(samples)-1 {
			trace = append(trace, fmt.Sprintf("%.0fs %.1f", s.at.Seconds(), float64(s.kb)/1024))
		}
	}
	lateGrowth := peak - atHalf
	t.Logf("tier 1 RSS (s MB): %s; peak %.1f MB, grew %.1f MB over the second half; acknowledged during the outage: %d (channel capacity %d)",
		strings.Join(trace, ", "), float64(peak)/1024, float64(lateGrowth)/1024, ackedDuring, outageChannel)
	if ackedDuring > outageChannel+clientBatch {
		t.Errorf("tier 1 acknowledged %d events while its downstream was away, more than its channel holds (%d): they are buffered somewhere unbounded", ackedDuring, outageChannel)
	}
	// The channel is full long before half-time; after it only
	// garbage-collector noise may move the RSS.
	if lateGrowth > 16*1024 {
		t.Errorf("tier 1 RSS still grew %.1f MB over the second half of the outage (%s): not bounded", float64(lateGrowth)/1024, strings.Join(trace, ", "))
	}
	check(t, result{
		Scenario: "downstream-outage",
		Sent:     acked,
		DupBound: sinkBatch, // tier 2 stops cleanly: at most the batch it took but did not answer
		Faults:   fmt.Sprintf("tier 2 stopped (SIGTERM) for %v; the client's batches refused %d times meanwhile", b.outage, failures),
		Recovery: since(restarted, back),
		Notes: fmt.Sprintf("Tier 1 acknowledged %d events during the outage (its channel holds %d), then refused. Its RSS (MB at s): %s; peak %.1f MB, +%.1f MB over the second half: it levels off once the channel is full (bounded by the channel's capacity).",
			ackedDuring, outageChannel, strings.Join(trace, ", "), float64(peak)/1024, float64(lateGrowth)/1024),
	}, tl)
}
