package thrift

import (
	"context"
	"encoding/binary"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluiceio/sluice/internal/flumethrift"
	"github.com/sluiceio/sluice/sluicetest"
)

// stall opens a connection, starts a frame claiming claim bytes, sends
// send of them and stops; it returns once the source closed it.
func stall(addr string, claim, send int) error {
	c, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := c.Write(binary.BigEndian.AppendUint32(nil, uint32(claim))); err != nil {
		return nil
	}
	chunk := make([]byte, 1<<20)
	for sent := 0; sent < send; sent += len(chunk) {
		if _, err := c.Write(chunk); err != nil {
			return nil // the source gave up on this connection
		}
	}
	_, _ = c.Read(make([]byte, 1))
	return nil
}

// TestBytesInFlightBounded: ten connections each start a 15 MB frame and
// stall after 12 MB. The source holds at most max-bytes-in-flight for
// them (its heap grows by about the budget, not by the 120 MB sent),
// frames past it wait and are refused when no room comes (counted, and
// logged once, not once per connection), and a normal client is served
// meanwhile and after.
func TestBytesInFlightBounded(t *testing.T) {
	const limit = 24 << 20 // room for one stalled frame (1.5 × while it grows), not ten
	proc := sluicetest.NewProcessor()
	f := start(t, proc, map[string]string{"max-bytes-in-flight": strconv.Itoa(limit), "read-timeout": "2"})
	good := dial(t, f.addr, flumethrift.DialOptions{})
	base := sluicetest.HeapInUse()
	var wg sync.WaitGroup
	done := make(chan struct{})
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := stall(f.addr, 15_000_000, 12<<20); err != nil {
				t.Error(err)
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	var peak int64
	sent := 0
	deadline := time.After(2 * time.Minute)
sample:
	for {
		peak = max(peak, sluicetest.HeapInUse()-base)
		// Small requests fit beside the stalled frames or wait for room.
		if err := good.AppendBatch(context.Background(), events(1, "during")); err == nil {
			sent++
		}
		select {
		case <-done:
			break sample
		case <-deadline:
			t.Fatal("stalled connections still open after 2 minutes")
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Logf("heap grew at most %.1f MB; budget peak %.1f MB of %d MB; %d batches of the good client served meanwhile",
		float64(peak)/(1<<20), float64(f.src.budget.Peak())/(1<<20), limit>>20, sent)
	if p := f.src.budget.Peak(); p > limit || p < limit/2 {
		t.Errorf("budget peak %d, want between %d and the limit %d", p, limit/2, limit)
	}
	// Live frames within the budget, plus buffers a collection had not yet
	// freed (counted in the budget before) and the test's own writers.
	if bound := int64(2*limit + 24<<20); peak > bound {
		t.Errorf("heap grew by %d bytes for stalled frames, over %d", peak, bound)
	}
	if sent == 0 {
		t.Error("the good client was not served while the frames stalled")
	}
	if u := f.src.budget.Used(); u != 0 {
		t.Errorf("%d bytes still held after every connection closed", u)
	}
	refused := f.log.Lines("max-bytes-in-flight reached")
	if len(refused) == 0 {
		t.Errorf("no frame was refused for want of budget:\n%s", f.log.String())
	}
	if len(refused) > 1 {
		t.Errorf("%d refusal lines in one burst, want 1 (rate-limited)", len(refused))
	}
	if f.env.SourceCounters.EventReadFail.Load() == 0 {
		t.Error("refusals not counted in EventReadFail")
	}
	if err := good.AppendBatch(context.Background(), events(5, "after")); err != nil {
		t.Fatalf("the good client after the stall: %v", err)
	}
}

// A frame claiming more than the whole budget is refused at once.
func TestFrameOverBudgetRefused(t *testing.T) {
	proc := sluicetest.NewProcessor()
	f := start(t, proc, map[string]string{"max-bytes-in-flight": "1048576"})
	c, err := net.DialTimeout("tcp", f.addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(binary.BigEndian.AppendUint32(nil, 2<<20))
	closedByPeer(t, c)
	f.log.Wait(t, wait, "max-bytes-in-flight reached", "more than the whole budget")
	if u := f.src.budget.Used(); u != 0 {
		t.Errorf("%d bytes still held", u)
	}
	if !strings.Contains(f.log.String(), "remote=") {
		t.Errorf("the refusal does not name the peer:\n%s", f.log.String())
	}
}

// A flood of bad connections is logged in a burst of lines, not one per
// connection, and every one of them is counted.
func TestBadInputFloodRateLimited(t *testing.T) {
	proc := sluicetest.NewProcessor()
	f := start(t, proc, nil)
	const conns = 200
	for i := 0; i < conns; i++ {
		c, err := net.DialTimeout("tcp", f.addr, wait)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte{0x7f, 0xff, 0xff, 0xff}) // claims 2 GiB
		closedByPeer(t, c)
		c.Close()
	}
	deadline := time.Now().Add(wait)
	for f.env.SourceCounters.EventReadFail.Load() < conns && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := f.env.SourceCounters.EventReadFail.Load(); n != conns {
		t.Errorf("EventReadFail %d, want %d", n, conns)
	}
	if n := len(f.log.Lines("frame claims 2147483647 bytes")); n == 0 || n > 20 {
		t.Errorf("%d log lines for %d bad connections, want 1-20", n, conns)
	}
	if err := dial(t, f.addr, flumethrift.DialOptions{}).AppendBatch(context.Background(), events(1, "ok")); err != nil {
		t.Fatalf("a good client after the flood: %v", err)
	}
}
