package reliability

import (
	be "encoding/binary"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluiceio/sluice/internal/avroipc"
	"github.com/sluiceio/sluice/test/peers"
)

// stallFrame opens a connection, starts a frame claiming claim bytes,
// sends send of them (through deflate when set: zeros, a few hundred bytes
// a MB on the wire) and stops, until the agent closes the connection.
func stallFrame(addr string, deflate bool, claim, send int) {
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return
	}
	defer raw.Close()
	var c net.Conn = raw
	if deflate {
		if c, err = avroipc.NewDeflateConn(raw, 9); err != nil {
			return
		}
	}
	hdr := be.BigEndian.AppendUint32(nil, 1)
	hdr = be.BigEndian.AppendUint32(hdr, 1)
	hdr = be.BigEndian.AppendUint32(hdr, uint32(claim))
	_ = raw.SetDeadline(time.Now().Add(2 * time.Minute))
	if _, err := c.Write(hdr); err != nil {
		return
	}
	chunk := make([]byte, 1<<20)
	for sent := 0; sent < send; sent += len(chunk) {
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
	_, _ = raw.Read(make([]byte, 1))
}

// stalledBudget is the agent's max-bytes-in-flight in the stalled-frames
// scenario; unbudgeted is the peak RSS measured once with 4 GiB instead.
const (
	stalledBudget = 64 << 20
	unbudgeted    = "1408 MB (measured once by hand)"
)

// TestStalledFrames: while a client streams numbered events into an avro
// source (→ memory channel → file_roll), ten connections each start a
// 57 MB frame and stall after 40 MB, then ten more send a deflate bomb
// (40 MB of zeros in ~40 KB each). The source's max-bytes-in-flight
// bounds what it holds for them; the client's batches wait or are refused
// and resent; nothing is lost, and the agent's RSS stays near the budget
// (without it the agent held ~10 × 40 MB).
func TestStalledFrames(t *testing.T) {
	needBinary(t)
	b := durations()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	plain, deflated := peers.FreePort(t), peers.FreePort(t)
	ag := newAgent(t, dir, "a1", fmt.Sprintf(`a1.sources = r1 r2
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = avro
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %d
a1.sources.r1.read-timeout = 3
a1.sources.r1.max-bytes-in-flight = %d
a1.sources.r1.channels = c1
a1.sources.r2.type = avro
a1.sources.r2.bind = 127.0.0.1
a1.sources.r2.port = %d
a1.sources.r2.compression-type = deflate
a1.sources.r2.read-timeout = 3
a1.sources.r2.max-bytes-in-flight = %d
a1.sources.r2.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 1000000
a1.channels.c1.transactionCapacity = 1000
`, plain, stalledBudget, deflated, stalledBudget)+fileRoll("a1", out))
	ag.start()
	base, err := rssKB(ag.pid())
	if err != nil {
		t.Fatal(err)
	}
	load := startAvroLoad(fmt.Sprintf("127.0.0.1:%d", plain), clientBatch, b.rate)
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(2)
		go func() { defer wg.Done(); stallFrame(fmt.Sprintf("127.0.0.1:%d", plain), false, 57_000_000, 40<<20) }()
		go func() { defer wg.Done(); stallFrame(fmt.Sprintf("127.0.0.1:%d", deflated), true, 57_000_000, 40<<20) }()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	started := time.Now()
	peak := base
	deadline := time.After(3 * time.Minute)
wait:
	for {
		if kb, err := rssKB(ag.pid()); err == nil {
			peak = max(peak, kb)
		}
		select {
		case <-done:
			break wait
		case <-deadline:
			t.Fatal("stalled connections still open after 3 minutes")
		case <-time.After(100 * time.Millisecond):
		}
	}
	stalled := time.Since(started)
	_, back := waitArrived(t, out, load.Acked(), 2*time.Minute)
	time.Sleep(2 * time.Second) // the client goes on once the stalls are gone
	acked, failures := load.Stop()
	tl, _ := waitArrived(t, out, acked, 2*time.Minute)
	ag.stop()
	t.Logf("agent RSS %.1f MB before, peak %.1f MB with 20 stalled 57 MB frames (2 sources of max-bytes-in-flight %d MiB)",
		float64(base)/1024, float64(peak)/1024, stalledBudget>>20)
	// Live frames stay within the two budgets; the collector may let the
	// heap reach twice the live bytes before it runs, so allow that.
	if bound := base + 2*2*stalledBudget/1024 + 64*1024; peak > bound {
		t.Errorf("agent RSS peaked at %d kB with stalled frames, over %d kB", peak, bound)
	}
	check(t, result{
		Scenario: "avro-stalled-frames",
		Sent:     acked,
		DupBound: 0, // the source refuses whole batches: a refused batch was not stored
		Faults:   fmt.Sprintf("10 connections stalled after 40 MB of a 57 MB frame, 10 more deflate bombs (40 MB of zeros each); all closed by the agent within %v; the client's batches refused %d times", stalled.Round(100*time.Millisecond), failures),
		Recovery: since(started.Add(stalled), back),
		Notes: fmt.Sprintf("Agent RSS %.1f MB before, peak %.1f MB (two sources with max-bytes-in-flight %d MiB); with no effective budget (4 GiB) the peak was %s.",
			float64(base)/1024, float64(peak)/1024, stalledBudget>>20, unbudgeted),
	}, tl)
}
